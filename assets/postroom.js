// Enhancements only: every page works without this script.
import { initAll } from "/assets/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// A printed page of figures has every table in it, not only the open ones.
window.addEventListener("beforeprint", () => {
  for (const d of document.querySelectorAll("details.postroom-open-in-print")) {
    d.open = true;
  }
});
