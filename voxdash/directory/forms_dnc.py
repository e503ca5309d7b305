"""The do-not-call page's forms: search, add one number, import a file, remove an entry."""

from django import forms
from django.conf import settings

from voxdash.lib.formatting import phone_e164
from voxdash.lib.sheets import MAX_FILE_BYTES, MB

from .do_not_call import REASON_MAX


class DncSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)


class DncAddForm(forms.Form):
    phone = forms.CharField(
        label="Phone number",
        max_length=32,
        help_text="International (+234 801 234 5678) or national format for the default region.",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX,
        required=False,
        help_text="Optional, e.g. “asked not to be called, 1 Dec”.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update(autocomplete="off", inputmode="tel")

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        region = settings.VOX_DEFAULT_REGION
        e164 = phone_e164(raw, region)
        if e164 is None:
            raise forms.ValidationError(
                f"This is not a valid phone number: use e.g. +234 801 234 5678 (or a national number in {region})."
            )
        return e164


class DncImportForm(forms.Form):
    file = forms.FileField(
        label="List file",
        help_text=(
            "CSV or Excel workbook (.xlsx) with a column named phone or customer_phone (an optional "
            f"reason column is kept), up to {MAX_FILE_BYTES // MB} MB."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs.update(accept=".csv,text/csv,.xlsx")


class DncRemoveForm(forms.Form):
    entry = forms.IntegerField(min_value=1)
    q = forms.CharField(required=False, max_length=100)  # the search to come back to
