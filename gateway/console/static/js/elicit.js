// An elicitation request from a backend (elicitation/create), answered by the person at the page:
// a dialog with the server's message and a form generated from its requested schema.

import { h } from "./dom.js";
import { schemaForm } from "./schemaform.js";

/** Show the request; resolves to the elicitation result ({action, content?}). */
export function askUser(params) {
  return new Promise((resolve) => {
    const form = schemaForm(params.requestedSchema || { type: "object", properties: {} });
    const error = h("p", { class: "error", role: "alert" });
    const dialog = h("dialog", { class: "elicitation", "data-testid": "elicitation" });
    const finish = (result) => {
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    const accept = () => {
      const { value, error: problem } = form.read();
      if (problem) {
        error.textContent = problem;
        return;
      }
      finish({ action: "accept", content: value });
    };
    dialog.append(
      h("h2", {}, "A backend asks for input"),
      h("p", { "data-testid": "elicitation-message" }, params.message || ""),
      form.element,
      error,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: accept }, "Accept"),
        h("button", { type: "button", onclick: () => finish({ action: "decline" }) }, "Decline"),
        h("button", { type: "button", onclick: () => finish({ action: "cancel" }) }, "Cancel"),
      ),
    );
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish({ action: "cancel" });
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
