// The console's generic behaviours, declared in the markup (no inline handlers: the pages'
// Content-Security-Policy forbids them):
//
// * <button data-open-dialog="ID"> opens <dialog id="ID"> with showModal() (focus moves into
//   it, Escape closes it, the rest of the page is inert meanwhile);
// * [data-close-dialog] inside a dialog closes it; so does a click on its backdrop;
// * <dialog data-open-on-load> opens as the page loads (a form in it came back with errors);
// * <input type="checkbox" data-controls="ID"> shows element ID only while it is checked,
//   from the moment the page loads. While hidden, the controls inside it are disabled, so a
//   hidden option is not sent with the form; shown again, they are enabled again.
//
// The same applies to content htmx swaps in (its htmx:load event).
(function () {
  "use strict";

  function openDialog(id) {
    const dialog = document.getElementById(id);
    if (dialog instanceof HTMLDialogElement && !dialog.open) {
      dialog.showModal();
    }
  }

  const FORM_CONTROLS = "input, select, textarea, button";

  function applyControl(box) {
    const ids = (box.dataset.controls || "").split(/\s+/).filter(Boolean);
    for (const id of ids) {
      const target = document.getElementById(id);
      if (!target) continue;
      target.hidden = !box.checked;
      for (const control of target.querySelectorAll(FORM_CONTROLS)) {
        if (!box.checked && !control.disabled) {
          control.disabled = true;
          control.dataset.disabledByControls = "true";
        } else if (box.checked && control.dataset.disabledByControls) {
          control.disabled = false;
          delete control.dataset.disabledByControls;
        }
      }
    }
  }

  function init(root) {
    for (const box of root.querySelectorAll("input[type=checkbox][data-controls]")) {
      applyControl(box);
    }
  }

  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const opener = target.closest("[data-open-dialog]");
    if (opener) {
      event.preventDefault();
      openDialog(opener.getAttribute("data-open-dialog"));
      return;
    }
    const closer = target.closest("[data-close-dialog]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) {
        event.preventDefault();
        dialog.close();
      }
      return;
    }
    // A click on the backdrop lands on the dialog itself, outside its box.
    if (target instanceof HTMLDialogElement && target.open) {
      const box = target.getBoundingClientRect();
      const inside =
        event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) target.close();
    }
  });

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target instanceof HTMLInputElement && target.type === "checkbox" && target.dataset.controls) {
      applyControl(target);
    }
  });

  document.addEventListener("htmx:load", function (event) {
    if (event.target instanceof Element) init(event.target);
  });

  // Deferred: the document is parsed when this runs.
  init(document);
  for (const dialog of document.querySelectorAll("dialog[data-open-on-load]")) {
    if (!dialog.open) dialog.showModal();
  }
})();
