// voxdash's only script besides htmx. Loaded as a file (the CSP allows no inline script).
"use strict";

// Django's CSRF check for every htmx request that changes something.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});

// A form's button marked data-disable-on-submit cannot be clicked twice. (Even if it were, the
// idempotency key the form carries makes Vox dial once; this just spares the user the doubt.)
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.hasAttribute("data-disable-on-submit")) {
    // After this tick: the submission has already taken the button's name and value.
    setTimeout(() => { button.disabled = true; button.textContent = "Placing…"; }, 0);
  }
});

// A date-and-time field opens the browser's picker when clicked (its own calendar button is
// hidden by voxdash.css: it was a keyboard stop without a visible focus).
document.addEventListener("click", (event) => {
  const input = event.target.closest && event.target.closest('input[type="datetime-local"]');
  if (input && typeof input.showPicker === "function") {
    try { input.showPicker(); } catch (error) { /* not allowed here: typing still works */ }
  }
});
