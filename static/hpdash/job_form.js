// The new-job form: add and remove parameter rows, show only the fields a row's type needs,
// and copy goal, metric tag, algorithm and project from the job picked to resume.
// No user data is ever written as HTML: rows are cloned from a server-rendered <template>.
(function () {
  "use strict";

  var TYPES = ["DOUBLE", "INTEGER", "DISCRETE", "CATEGORICAL"];

  function setValue(id, value) {
    var el = document.getElementById(id);
    if (el) el.value = value;
  }

  function showType(row) {
    var select = row.querySelector("select.param-type");
    if (!select) return;
    row.dataset.type = TYPES.indexOf(select.value) >= 0 ? select.value : "ANY";
  }

  function renumber(fragment, index) {
    fragment.querySelectorAll("[id], [name], [for]").forEach(function (el) {
      ["id", "name", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value && value.indexOf("__prefix__") >= 0) {
          el.setAttribute(attr, value.split("__prefix__").join(String(index)));
        }
      });
    });
  }

  function init() {
    var form = document.getElementById("job-form");
    if (!form) return;
    form.classList.add("js");

    var rows = document.getElementById("param-rows");
    var template = document.getElementById("param-empty-form");
    var total = document.getElementById("id_params-TOTAL_FORMS");
    var add = document.getElementById("add-param");

    if (rows) {
      rows.addEventListener("change", function (event) {
        var target = event.target;
        if (target instanceof HTMLSelectElement && target.classList.contains("param-type")) {
          showType(target.closest(".param-row"));
        }
      });
      rows.addEventListener("click", function (event) {
        var button = event.target instanceof Element ? event.target.closest(".remove-param") : null;
        if (!button) return;
        var row = button.closest(".param-row");
        var box = row.querySelector('input[type="checkbox"][name$="-DELETE"]');
        if (box) box.checked = true;
        row.classList.add("is-deleted");
      });
    }

    if (add && rows && template && total) {
      add.addEventListener("click", function () {
        var index = parseInt(total.value, 10) || 0;
        var fragment = template.content.cloneNode(true);
        renumber(fragment, index);
        var row = fragment.querySelector(".param-row");
        rows.appendChild(fragment);
        total.value = String(index + 1);
        if (row) {
          showType(row);
          var first = row.querySelector("input[type=text]");
          if (first) first.focus();
        }
      });
    }

    // A resumed job must keep the previous job's goal, metric tag and algorithm, and live in
    // its project: copy them from the picked option.
    // While a job is picked, those fields are shown but not editable.
    var resume = document.getElementById("id_resume_from");
    var REUSED = ["id_goal", "id_metric_tag", "id_algorithm"];
    function lockReused(locked) {
      REUSED.forEach(function (id) {
        var el = document.getElementById(id);
        if (!el) return;
        el.classList.toggle("reused", locked);
        if (el.tagName === "SELECT") el.setAttribute("aria-readonly", locked ? "true" : "false");
        else el.readOnly = locked;
        el.tabIndex = locked ? -1 : 0;
        el.title = locked ? "Reused from the job this one continues" : "";
      });
    }
    if (resume) {
      resume.addEventListener("change", function () {
        var option = resume.options[resume.selectedIndex];
        lockReused(Boolean(option && option.value));
        if (!option || !option.value) return;
        var data = option.dataset;
        if (data.project) setValue("id_project", data.project);
        if (data.goal) setValue("id_goal", data.goal);
        if (data.metric !== undefined) setValue("id_metric_tag", data.metric);
        if (data.algorithm) setValue("id_algorithm", data.algorithm);
      });
      lockReused(Boolean(resume.value));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
