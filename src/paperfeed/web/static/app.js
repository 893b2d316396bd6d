// paperfeed's only script: math rendering, keyboard navigation between cards, copy buttons.
(function () {
  "use strict";

  // auto-render walks text nodes only, so titles or abstracts containing HTML (already
  // escaped by the server) stay inert text. KaTeX trusts nothing but \href and \url to
  // http(s) addresses: abstracts use them for code links, and any other scheme stays text.
  function trustedLink(context) {
    return (context.command === "\\href" || context.command === "\\url") &&
      /^https?:\/\//i.test(context.url || "");
  }

  function renderMath(root) {
    if (!window.renderMathInElement) return;
    root.querySelectorAll(".math").forEach(function (el) {
      if (el.dataset.mathDone) return;
      window.renderMathInElement(el, {
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "$", right: "$", display: false },
          { left: "\\(", right: "\\)", display: false },
          { left: "\\[", right: "\\]", display: true }
        ],
        throwOnError: false, trust: trustedLink, strict: "ignore", maxExpand: 200
      });
      // KaTeX draws math twice, MathML for screen readers and aria-hidden HTML for the eye;
      // a link in the hidden copy must not take keyboard focus (the paper's Code link does)
      el.querySelectorAll(".katex-html a").forEach(function (a) { a.setAttribute("tabindex", "-1"); });
      el.dataset.mathDone = "1";
    });
  }

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("[data-card]")); }

  function moveCard(step) {
    var list = cards();
    if (!list.length) return;
    var current = list.findIndex(function (c) { return c.contains(document.activeElement); });
    var next = current < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, current + step));
    list.forEach(function (c) { c.classList.remove("is-current"); });
    var link = list[next].querySelector("[data-card-link]");
    list[next].classList.add("is-current");
    link.focus();
    list[next].scrollIntoView({ block: "nearest" });
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || typing(ev.target)) return;
    if (ev.key === "j" || ev.key === "ArrowDown" && cards().some(function (c) { return c.contains(document.activeElement); })) {
      moveCard(1); ev.preventDefault();
    } else if (ev.key === "k" || ev.key === "ArrowUp" && cards().some(function (c) { return c.contains(document.activeElement); })) {
      moveCard(-1); ev.preventDefault();
    } else if (ev.key === "/") {
      var box = document.getElementById("q") || document.getElementById("header-q");
      if (box) { box.focus(); box.select(); ev.preventDefault(); }
    } else if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
      // A focused card (j/k) still lets the arrows change the day; other controls keep them.
      var focus = document.activeElement;
      if (focus && focus !== document.body && !focus.matches("main") && !focus.closest("[data-card]")) return;
      var arrow = document.querySelector(ev.key === "ArrowLeft" ? ".date-nav a[rel=prev]" : ".date-nav a[rel=next]");
      if (arrow) { arrow.click(); ev.preventDefault(); }
    }
  });

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Filters that apply as soon as they change (<select data-autosubmit>): a listener here,
  // because the Content-Security-Policy forbids inline onchange handlers.
  document.addEventListener("change", function (ev) {
    var field = ev.target.closest && ev.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.requestSubmit();
  });

  document.addEventListener("DOMContentLoaded", function () { renderMath(document); });
  document.addEventListener("htmx:afterSettle", function () { renderMath(document); });
})();
