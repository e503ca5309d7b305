// voxdash's only script besides htmx. Loaded as a file (the CSP allows no inline script).
"use strict";

// Django's CSRF check for every htmx request that changes something.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});
