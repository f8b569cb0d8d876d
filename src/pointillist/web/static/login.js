// The sign-in page: a session cookie for the browser, the CSRF token for every change.
"use strict";

const $ = (id) => document.getElementById(id);

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)pointillist_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function show(me) {
  $("login").hidden = me !== null;
  $("signed-in").hidden = me === null;
  const warning = me && me.clinic_warning;
  $("warning").hidden = !warning;
  $("warning").textContent = warning || "";
  if (me) {
    $("who").textContent = me.user.name;
    $("role").textContent = me.user.role;
    $("clinic").textContent = me.clinic.name;
    $("permissions").replaceChildren(
      ...me.permission_labels.map((label) => {
        const item = document.createElement("li");
        item.textContent = label;
        return item;
      }),
    );
  }
}

async function refresh() {
  const response = await fetch("/api/auth/me", { credentials: "same-origin" });
  show(response.ok ? await response.json() : null);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/api/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
  });
  const body = await response.json();
  $("error").hidden = response.ok;
  $("error").textContent = response.ok ? "" : body.detail;
  if (response.ok) {
    event.target.reset();
    show(body);
  }
});

$("logout").addEventListener("click", async () => {
  await fetch("/api/auth/logout", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken() },
  });
  show(null);
});

refresh();
