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

// An error answered to htmx (voxdash.health.error_pages) is a banner that the server aims, by
// HX-Retarget, at the page's error area (#request-error in base.html). htmx swaps no 4xx or 5xx
// by default: let exactly those through. Anything else that fails (a proxy's 502, no answer at
// all) gets a plain sentence there. It stays until the element that failed succeeds again, so a
// poll elsewhere on the page does not wipe it before it is read.
const ERROR_AREA = "#request-error";
let failedElement = null;

function showRequestError(elt, text) {
  const area = document.querySelector(ERROR_AREA);
  failedElement = elt;
  if (!area) return;
  const banner = document.createElement("div");
  banner.className = "banner banner-error";
  banner.setAttribute("role", "alert");
  banner.textContent = text;
  area.replaceChildren(banner);
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget") === ERROR_AREA) {
    event.detail.shouldSwap = true;
    // This event fires on the swap's target (the error area): the element that asked is here.
    failedElement = event.detail.requestConfig.elt;
  }
});

document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  if (xhr.getResponseHeader("HX-Retarget") !== ERROR_AREA) {
    showRequestError(event.detail.elt, `voxdash answered ${xhr.status} ${xhr.statusText}. Try again in a moment, or reload the page.`);
  }
});

document.addEventListener("htmx:sendError", (event) => {
  showRequestError(event.detail.elt, "voxdash did not answer. Check your connection, then try again or reload the page.");
});

document.addEventListener("htmx:afterRequest", (event) => {
  const area = document.querySelector(ERROR_AREA);
  if (event.detail.successful && area && event.detail.elt === failedElement) {
    area.replaceChildren();
    failedElement = null;
  }
});

// The refused-form page's "Back to the form" (templates/errors/csrf.html): the browser's own Back,
// which keeps what was typed. Hidden until this script runs, since it needs it.
for (const button of document.querySelectorAll("[data-history-back]")) {
  button.hidden = false;
  button.addEventListener("click", () => history.back());
}
