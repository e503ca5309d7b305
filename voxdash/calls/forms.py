from django import forms

from voxdash.overview.templatetags.vox_format import STATUS_LABELS

PAGE_SIZES = (20, 50, 100)


class CallFiltersForm(forms.Form):
    """The history's query string, with the API's own parameter names and meanings.

    A bad value is reported and dropped; the rest of the filters still apply.
    """

    direction = forms.ChoiceField(
        required=False, choices=[("", "All"), ("inbound", "Inbound"), ("outbound", "Outbound")]
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "All"), *STATUS_LABELS.items()]
    )
    search = forms.CharField(required=False, max_length=100, strip=True)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    limit = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=PAGE_SIZES[0],
        choices=[(str(n), f"{n} per page") for n in PAGE_SIZES],
    )

    def api_params(self) -> dict:
        """The valid filters as keyword arguments for `list_calls` (call after is_valid())."""
        data = getattr(self, "cleaned_data", {})
        params = {
            "direction": data.get("direction") or None,
            "status": data.get("status") or None,
            "search": data.get("search") or None,
            "page": data.get("page") or 1,
            "limit": data.get("limit") or PAGE_SIZES[0],
        }
        return params
