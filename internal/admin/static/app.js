// Niceties only: every page works without this file.
"use strict";
document.addEventListener("click", (ev) => {
  const copy = ev.target.closest("button.copy");
  if (copy) {
    const el = document.getElementById(copy.dataset.copy);
    if (el && navigator.clipboard) {
      navigator.clipboard.writeText(el.textContent.trim()).then(() => {
        const was = copy.textContent;
        copy.textContent = "Copied";
        setTimeout(() => { copy.textContent = was; }, 1500);
      });
    }
    return;
  }
  const add = ev.target.closest("button.add-scope");
  if (add) {
    const scope = document.getElementById("scope");
    const have = scope.value.split(/\s+/).filter(Boolean);
    if (!have.includes(add.dataset.scope)) {
      have.push(add.dataset.scope);
      scope.value = have.join(" ");
    }
  }
});
// The token form shows the fields of the chosen type, and the URLs that
// will be used when the URL fields are left empty.
function derivedURLs(form) {
  const type = form.dataset.type;
  const tenant = (form.querySelector("#tenant") || {}).value || "<tenant>";
  if (type === "microsoft") {
    const base = "https://login.microsoftonline.com/" + encodeURIComponent(tenant.trim() || "<tenant>") + "/oauth2/v2.0";
    return [base + "/authorize", base + "/token"];
  }
  if (type === "google") {
    return ["https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token"];
  }
  return ["https://id.example.com/oauth2/authorize", "https://id.example.com/oauth2/token"];
}
function showDerived(form) {
  const [auth, token] = derivedURLs(form);
  const a = form.querySelector("#auth_url"), t = form.querySelector("#token_url");
  if (a) a.placeholder = auth;
  if (t) t.placeholder = token;
}
document.addEventListener("change", (ev) => {
  const form = ev.target.closest("form.token-form");
  if (!form) return;
  if (ev.target.name === "type") form.dataset.type = ev.target.value;
  showDerived(form);
});
document.addEventListener("input", (ev) => {
  const form = ev.target.closest("form.token-form");
  if (form && ev.target.id === "tenant") showDerived(form);
});
document.querySelectorAll("form.token-form").forEach(showDerived);
