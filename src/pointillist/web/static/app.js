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

// Signature pad: draw with a finger, stylus or mouse (pointer events); the drawing goes
// into a hidden field as a PNG data URL on every stroke, so a form sent back with an
// error shows the signature again instead of losing it.
function setUpSignature(form) {
  const canvas = form.querySelector("[data-signature-pad]");
  const field = form.querySelector("[data-signature-value]");
  const ctx = canvas.getContext("2d");

  function blank() {
    // An opaque white background: the PNG is evidence, not a transparent overlay.
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  blank();
  if (field.value) {
    const image = new Image();
    image.onload = () => ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    image.src = field.value;
  }
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#111";

  let drawing = false;
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * canvas.width) / box.width,
      ((event.clientY - box.top) * canvas.height) / box.height,
    ];
  }
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = point(event);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y + 0.1);
    ctx.stroke();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = point(event);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  function end() {
    if (!drawing) return;
    drawing = false;
    field.value = canvas.toDataURL("image/png");
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  form.querySelector("[data-signature-clear]").addEventListener("click", () => {
    blank();
    field.value = "";
  });
}

document.querySelectorAll("form[data-signature-form]").forEach(setUpSignature);
