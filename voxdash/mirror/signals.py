"""What the mirror tells the rest of the project when it changes."""

from django.dispatch import Signal

# Sent after each committed write that added or changed calls, with `created` and `updated` (lists
# of Vox call ids), so other apps can react without the mirror's writers knowing them.
calls_mirrored = Signal()
