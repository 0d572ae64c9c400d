// The API token pages: copy a new token, confirm a revoke, and keep a new token's page out of
// the history (a reload must not post the form again, nor show the token again).

const created = document.querySelector(".ff-token-created[data-token-url]");
if (created) {
  // The address becomes the token's own page: reloading or coming back later asks for that page.
  history.replaceState(null, "", created.dataset.tokenUrl);
}

for (const button of document.querySelectorAll("[data-copy-from]")) {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copyFrom);
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = button.dataset.copied;
    } catch {
      // No clipboard API (plain http, an old browser): the text is selected, ready for Ctrl+C.
    }
  });
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
}
