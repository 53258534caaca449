// 医保政策助手 · 运营后台: a little progressive enhancement; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // confirm before destructive actions (dismiss, revert)
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const link of document.querySelectorAll("a[data-back]")) {
    link.addEventListener("click", (event) => { event.preventDefault(); history.back(); });
  }
  // search entries as you type on a group's page: the results replace the list's items
  const search = document.querySelector("form[data-entry-search]");
  const results = document.querySelector("[data-entry-results]");
  if (!search || !results) return;
  const input = search.querySelector("[data-entry-query]");
  const template = results.querySelector("li form.pick");
  if (!input || !template) return;
  let timer = 0;
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const q = input.value.trim();
      if (q.length < 2) return;
      const response = await fetch("/console/entries.json?q=" + encodeURIComponent(q), { credentials: "same-origin" });
      if (!response.ok) return;
      const found = await response.json();
      results.replaceChildren(...found.map((entry) => {
        const item = document.createElement("li");
        const form = template.cloneNode(true);
        form.querySelector("input[name=entry]").value = entry.id;
        const head = form.querySelector("div");
        head.replaceChildren();
        const title = document.createElement("b");
        title.textContent = entry.question;  // text, never HTML: users' words reach entries
        const id = document.createElement("code");
        id.textContent = entry.id;
        const where = document.createElement("span");
        where.className = "muted";
        where.textContent = entry.where;
        head.append(title, " ", id, " ", where);
        item.append(form);
        return item;
      }));
    }, 250);
  });
});
