// Field mapping page: a row's "new contact field" inputs show only while its select says
// "New contact field…". Without this script they simply stay visible (the server ignores
// them unless that option is chosen).
(function () {
  "use strict";
  var NEW_FIELD = "__new__";

  function sync(select) {
    var target = document.getElementById(select.getAttribute("data-new-field"));
    if (target) {
      target.hidden = select.value !== NEW_FIELD;
    }
  }

  function init(root) {
    root.querySelectorAll("select[data-new-field]").forEach(sync);
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select instanceof HTMLSelectElement && select.hasAttribute("data-new-field")) {
      sync(select);
      if (select.value === NEW_FIELD) {
        var name = document.getElementById(select.getAttribute("data-new-field"))
          .querySelector("input[type=text]");
        if (name) { name.focus(); name.select(); }
      }
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
