// Small enhancements on top of plain HTML; every page and form works without this file.
(function () {
  "use strict";
  var doc = document;

  function toast(text, hideAfter) {
    var box = doc.getElementById("toast");
    if (!box) { return; }
    box.textContent = text;
    box.classList.add("shown");
    clearTimeout(box.hideTimer);
    box.hideTimer = setTimeout(function () { box.classList.remove("shown"); }, hideAfter || 6000);
  }

  // Selects marked data-autosubmit send their form as soon as a choice is made.
  doc.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]")) {
      select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    }
  });

  // A form marked data-submit-on-load is sent as soon as the page has loaded (an entry link from the software).
  function submitOnLoad() {
    var form = doc.querySelector("form[data-submit-on-load]");
    if (form) { form.submit(); }
  }
  if (doc.readyState === "loading") { doc.addEventListener("DOMContentLoaded", submitOnLoad); } else { submitOnLoad(); }

  // A link marked data-follow-on-load is followed as soon as the page has loaded, in place of this page (the
  // client's software, opened with its single-use token): a script's navigation, which the policy's form-action
  // leaves alone, where a redirect after a form would be stopped.
  function followOnLoad() {
    var link = doc.querySelector("a[data-follow-on-load]");
    if (link) { window.location.replace(link.href); }
  }
  if (doc.readyState === "loading") { doc.addEventListener("DOMContentLoaded", followOnLoad); } else { followOnLoad(); }

  // Menus are <details data-menu>: one open at a time; Escape, a click or focus elsewhere closes them.
  function closeMenus(except) {
    doc.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) { menu.open = false; }
    });
  }
  doc.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (menu.matches && menu.matches("details[data-menu]") && menu.open) { closeMenus(menu); }
  }, true);
  doc.addEventListener("click", function (event) {
    closeMenus(event.target.closest && event.target.closest("details[data-menu]"));
  });
  doc.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = doc.querySelector("details[data-menu][open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
  doc.addEventListener("focusout", function (event) {
    var menu = event.target.closest && event.target.closest("details[data-menu][open]");
    if (menu && event.relatedTarget && !menu.contains(event.relatedTarget)) { menu.open = false; }
  });

  // htmx swaps only <body>'s content for a whole page: carry over its language and CSRF token too.
  doc.addEventListener("htmx:beforeSwap", function (event) {
    var html = event.detail.serverResponse || "";
    var lang = /<html[^>]*\slang="([^"]+)"/.exec(html);
    var headers = /<body[^>]*\shx-headers='([^']+)'/.exec(html);
    if (lang) { doc.documentElement.lang = lang[1]; }
    if (headers) { doc.body.setAttribute("hx-headers", headers[1]); }
  });

  // Wide tables scroll sideways; a keyboard can scroll them only when they can take focus.
  function tidy() {
    doc.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) { wrap.tabIndex = 0; } else { wrap.removeAttribute("tabindex"); }
    });
    var current = doc.querySelector(".nav [aria-current=page]");
    var nav = current && current.closest(".nav");
    if (nav && nav.scrollWidth > nav.clientWidth) { nav.scrollLeft = current.offsetLeft - 8; }
  }
  doc.addEventListener("DOMContentLoaded", tidy);
  doc.addEventListener("htmx:load", tidy);
  var resizing;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(tidy, 200);
  });

  // A failed htmx request shows the server's translated explanation instead of doing nothing.
  doc.addEventListener("htmx:responseError", function (event) {
    var page = new DOMParser().parseFromString(event.detail.xhr.responseText, "text/html");
    var panel = page.querySelector(".error-panel");
    toast(panel ? panel.querySelector("h1").textContent + " — " + panel.querySelector("h1 + p").textContent
      : event.detail.xhr.status + " " + event.detail.xhr.statusText);
  });
  doc.addEventListener("htmx:sendError", function () {
    var box = doc.getElementById("toast");
    toast(box && box.dataset.offline || "Offline");
  });

  // A [data-copy] button (hidden without JavaScript, where the text can be selected) copies its element's text.
  function showCopyButtons() {
    doc.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      if (navigator.clipboard) { button.hidden = false; }
    });
  }
  doc.addEventListener("DOMContentLoaded", showCopyButtons);
  doc.addEventListener("htmx:load", showCopyButtons);
  doc.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var source = button && doc.getElementById(button.dataset.copy);
    if (source) {
      navigator.clipboard.writeText((source.value || source.textContent).trim()).then(function () {
        toast(button.dataset.copied, 3000);
      });
    }
  });

  // A [data-print] link prints the page with the print stylesheet; without JavaScript it opens the PDF.
  doc.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-print]");
    if (link) {
      event.preventDefault();
      window.print();
    }
  });

  // A dialog htmx puts in #modal: focus moves into it and stays there (Tab wraps), Escape or its close link
  // closes it, and focus returns to what opened it. Without JavaScript the same content is a page of its own.
  var opener = null;
  function dialog() { return doc.querySelector("#modal [role=dialog]"); }
  function closeDialog() {
    doc.getElementById("modal").innerHTML = "";
    if (opener && doc.contains(opener)) { opener.focus(); }
    opener = null;
  }
  doc.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "modal") { opener = event.detail.elt; }
  });
  doc.addEventListener("htmx:afterSettle", function () {
    var box = dialog();
    if (box && !box.contains(doc.activeElement)) {
      (box.querySelector("[autofocus]") || box.querySelector("h2")).focus();
    }
  });
  doc.addEventListener("keydown", function (event) {
    var box = dialog();
    if (!box) { return; }
    if (event.key === "Escape") { event.preventDefault(); closeDialog(); return; }
    if (event.key !== "Tab") { return; }
    var items = box.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]), select, textarea");
    var first = items[0], last = items[items.length - 1];
    if (event.shiftKey && doc.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && doc.activeElement === last) { event.preventDefault(); first.focus(); }
    else if (!box.contains(doc.activeElement)) { event.preventDefault(); first.focus(); }
  });
  doc.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-modal-close]");
    if ((close && dialog()) || (event.target.matches && event.target.matches("#modal [data-modal]"))) {
      event.preventDefault();
      closeDialog();
    }
  });
})();
