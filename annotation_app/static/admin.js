// Admin pages: forms marked data-confirm ask before they are sent (the question is in the page's language), and a
// form is sent once: a second click while its answer is on the way is ignored (an impatient double click would
// otherwise replace the page showing the result with a refusal such as "this user name is taken").
document.querySelectorAll("form").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent || (form.dataset.confirm && !window.confirm(form.dataset.confirm))) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    // a download (the export) leaves this page in place: the form can be sent again after a moment
    setTimeout(() => delete form.dataset.sent, 5000);
  });
});
// a page restored by the back button can be used again at once
window.addEventListener("pageshow", () => document.querySelectorAll("form").forEach((f) => delete f.dataset.sent));
