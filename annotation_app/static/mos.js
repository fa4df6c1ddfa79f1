// MOS page: the expert rates how well the shown label fits the video on the 5-point ACR scale.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const video = document.getElementById("video"), label = document.getElementById("mos-label");
  const statusLine = document.getElementById("status");
  let current = null;
  async function api(method, url, body) {
    const res = await fetch(url, { method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cfg.csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, data: await res.json().catch(() => null) };
  }
  async function next() {
    const r = await api("GET", "/api/mos/next");
    current = r.data;
    if (!current) { video.removeAttribute("src"); label.textContent = ""; statusLine.textContent = cfg.text.queue_empty; return; }
    video.src = current.media_url; video.load(); video.play().catch(() => {});
    label.textContent = cfg.categories[current.label] || current.label;
  }
  async function rate(score) {
    if (!current) return;
    const r = await api("POST", "/api/mos", { sample_id: current.sample_id, score });
    if (r.status === 201) { statusLine.textContent = cfg.text.saved; await next(); }
  }
  document.querySelectorAll("#mos-buttons button").forEach((b) => b.addEventListener("click", () => rate(Number(b.dataset.score))));
  document.addEventListener("keydown", (e) => { if (/^[1-5]$/.test(e.key)) rate(Number(e.key)); });
  next();
})();
