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
// The token form shows the fields of the chosen type.
document.addEventListener("change", (ev) => {
  if (ev.target.name === "type") {
    const form = ev.target.closest("form.token-form");
    if (form) form.dataset.type = ev.target.value;
  }
});
