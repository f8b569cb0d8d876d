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
