"""The error pages (400, 403, 404, 500 and a refused CSRF check) in the dashboard's own look.

Stub: Django's defaults until the pages are written.
"""

from django.views import csrf, defaults

bad_request = defaults.bad_request
permission_denied = defaults.permission_denied
page_not_found = defaults.page_not_found
server_error = defaults.server_error
csrf_failure = csrf.csrf_failure
