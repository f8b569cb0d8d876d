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

// Preview editor: every change re-renders at screen resolution on the server (the latest
// change wins); the hairline's key points are dragged (or moved with the arrow keys), the
// treatment area painted in or out with a brush.
function setUpEditor(root) {
  const $ = (selector) => root.querySelector(selector);
  const form = $("[data-controls]");
  const stage = $(".stage");
  const image = $("[data-preview-image]");
  const area = $("[data-area-image]");
  const svg = $("[data-handles]");
  const line = $("[data-hairline]");
  const brush = $("[data-brush]");
  const paint = brush.getContext("2d");
  const status = $("[data-status]");
  const errorBox = $("[data-error]");
  const busy = $("[data-busy]");
  const moved = {};
  let areaEdits = null;
  let sequence = 0;
  let shown = 0;
  let timer = null;

  function params() {
    const data = new FormData(form);
    return {
      editor: root.dataset.editorId,
      height_cm: Number(data.get("height_cm")),
      transition_band_mm: Number(data.get("transition_band_mm")),
      years: Number(data.get("years")),
      density: Number(data.get("density")),
      shade: String(data.get("shade") || ""),
      sessions: Number(data.get("sessions")),
      session: Math.min(Number(data.get("session")), Number(data.get("sessions"))),
      points: Object.keys(moved).length ? moved : null,
      area_edits: areaEdits,
    };
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": csrfToken(),
      },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.detail || `error ${response.status}`);
    return answer;
  }

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  async function rerender() {
    const mine = ++sequence;
    busy.hidden = false;
    try {
      const answer = await post(root.dataset.renderUrl, params());
      if (mine < shown) return;
      shown = mine;
      image.src = answer.image;
      area.src = answer.area;
      area.hidden = false;
      line.setAttribute("points", answer.hairline.map((p) => p.join(",")).join(" "));
      for (const [key, point] of Object.entries(answer.points)) {
        const handle = svg.querySelector(`[data-point="${key}"]`);
        if (handle && !handle.classList.contains("dragging")) place(handle, point.x, point.y);
      }
      root.dataset.renders = String(Number(root.dataset.renders || 0) + 1);
      const stages = answer.stages.length ? ` (${answer.stages.join(", ")})` : " (nothing to re-run)";
      status.textContent = `Re-rendered in ${answer.server_ms} ms on the server${stages}; treatment area ${answer.area_cm2} cm², ${answer.impressions.toLocaleString()} impressions.` + (answer.warnings.length ? ` ${answer.warnings.join(" ")}` : "");
      showError("");
    } catch (error) {
      showError(error.message);
    } finally {
      if (mine === sequence) busy.hidden = true;
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(rerender, 120);
  }

  function place(handle, x, y) {
    handle.setAttribute("cx", x.toFixed(1));
    handle.setAttribute("cy", y.toFixed(1));
    handle.setAttribute("aria-valuetext", `x ${Math.round(x)}, y ${Math.round(y)} pixels`);
  }

  function svgPoint(event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }

  function remember(handle) {
    moved[handle.dataset.point] = { x: Number(handle.getAttribute("cx")), y: Number(handle.getAttribute("cy")) };
  }

  svg.querySelectorAll("[data-point]").forEach((handle) => {
    handle.addEventListener("pointerdown", (event) => {
      handle.classList.add("dragging");
      handle.setPointerCapture(event.pointerId);
    });
    handle.addEventListener("pointermove", (event) => {
      if (!handle.classList.contains("dragging")) return;
      const point = svgPoint(event);
      place(handle, point.x, point.y);
    });
    const drop = () => {
      if (!handle.classList.contains("dragging")) return;
      handle.classList.remove("dragging");
      remember(handle);
      soon();
    };
    handle.addEventListener("pointerup", drop);
    handle.addEventListener("pointercancel", drop);
    handle.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 10 : 2;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      place(handle, Number(handle.getAttribute("cx")) + move[0], Number(handle.getAttribute("cy")) + move[1]);
      remember(handle);
      soon();
    });
  });

  // Brush: red paints area in, blue paints it out, on a layer the server reads as a PNG.
  let painting = false;
  function dab(event) {
    const box = brush.getBoundingClientRect();
    const x = ((event.clientX - box.left) * brush.width) / box.width;
    const y = ((event.clientY - box.top) * brush.height) / box.height;
    const size = (Number(form.elements.brush_size.value) * brush.width) / box.width;
    paint.fillStyle = form.elements.brush.value === "add" ? "#ff0000" : "#0000ff";
    paint.beginPath();
    paint.arc(x, y, size / 2, 0, 2 * Math.PI);
    paint.fill();
  }
  brush.addEventListener("pointerdown", (event) => {
    painting = true;
    brush.setPointerCapture(event.pointerId);
    dab(event);
  });
  brush.addEventListener("pointermove", (event) => { if (painting) dab(event); });
  const stopPainting = () => {
    if (!painting) return;
    painting = false;
    areaEdits = brush.toDataURL("image/png");
    soon();
  };
  brush.addEventListener("pointerup", stopPainting);
  brush.addEventListener("pointercancel", stopPainting);
  $("[data-clear-brush]").addEventListener("click", () => {
    paint.clearRect(0, 0, brush.width, brush.height);
    areaEdits = null;
    soon();
  });

  function syncOutputs() {
    form.querySelectorAll("output[data-for]").forEach((output) => {
      output.textContent = form.querySelector(`#${output.dataset.for}`).value;
    });
    const sessions = Number(form.elements.sessions.value);
    for (const option of form.elements.session.options) option.disabled = Number(option.value) > sessions;
    if (Number(form.elements.session.value) > sessions) form.elements.session.value = String(sessions);
    stage.classList.toggle("painting", form.elements.brush.value !== "off");
  }
  form.addEventListener("input", (event) => {
    syncOutputs();
    if (!["brush", "brush_size"].includes(event.target.name)) soon();
  });
  form.addEventListener("change", syncOutputs);
  form.addEventListener("submit", (event) => event.preventDefault());

  // Full size in the background: start, then poll the progress until it is saved.
  const progress = $("[data-progress]");
  const saved = $("[data-saved]");
  $("[data-save]").addEventListener("click", async (event) => {
    const button = event.target;
    button.disabled = true;
    saved.textContent = "";
    try {
      const { job } = await post(root.dataset.saveUrl, params());
      progress.hidden = false;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 600));
        const response = await fetch(root.dataset.jobUrl + job, { headers: { Accept: "application/json" } });
        const state = await response.json();
        if (!response.ok || state.error) throw new Error(state.error || state.detail);
        progress.max = state.total;
        progress.value = state.done;
        saved.textContent = `Full size: ${state.stage}…`;
        if (state.simulation_id) {
          progress.value = progress.max;
          saved.replaceChildren("Saved as a preview on ");
          const link = document.createElement("a");
          link.href = root.dataset.clientUrl;
          link.textContent = "the client's page";
          saved.append(link, ".");
          break;
        }
      }
    } catch (error) {
      showError(error.message);
    } finally {
      button.disabled = false;
    }
  });

  syncOutputs();
  rerender();
}

document.querySelectorAll("[data-editor]").forEach(setUpEditor);
