// The clinic app's behaviour beyond plain forms. No inline script anywhere (the CSP
// forbids it): each feature finds its elements by a data- attribute.
"use strict";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)pointillist_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// HTMX requests that change something carry the session's CSRF token, as API calls do.
document.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["X-CSRF-Token"] = csrfToken();
});

document.documentElement.classList.add("js");

// Photo upload: drop a file on the zone, or pick one (or take one with the camera); show
// it, and refuse a file over the server's limit before sending it.
function setUpUpload(form) {
  const zone = form.querySelector("[data-dropzone]");
  const inputs = form.querySelectorAll("input[type=file]");
  const chosen = form.querySelector("[data-chosen]");
  const preview = form.querySelector("[data-preview]");
  const error = form.querySelector("[data-file-error]");

  function show(file, input) {
    // One photo at a time: picking in one input clears the other.
    inputs.forEach((other) => { if (other !== input) other.value = ""; });
    const limit = Number(input.dataset.maxBytes);
    if (file.size > limit) {
      error.textContent = `This photo is ${(file.size / 1048576).toFixed(1)} MB, over the ${(limit / 1048576).toFixed(0)} MB limit: send a smaller one.`;
      error.hidden = false;
      input.value = "";
      return;
    }
    error.hidden = true;
    chosen.textContent = `Chosen: ${file.name} (${(file.size / 1048576).toFixed(1)} MB)`;
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
  }

  inputs.forEach((input) => input.addEventListener("change", () => {
    if (input.files.length) show(input.files[0], input);
  }));
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer.files[0];
    if (!file) return;
    const transfer = new DataTransfer();
    transfer.items.add(file);
    inputs[0].files = transfer.files;
    show(file, inputs[0]);
  });
}

document.querySelectorAll("form[data-upload]").forEach(setUpUpload);
