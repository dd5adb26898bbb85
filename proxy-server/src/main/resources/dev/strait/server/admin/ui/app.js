// Strait's live page. Every string that came from outside (addresses, names, reasons) goes into the page through
// textContent, never as HTML; the Content-Security-Policy allows this file and nothing inline.
"use strict";

(function () {
  const TOKEN_KEY = "strait.adminToken";
  const REFRESH_MS = 1000;
  const COLORS = ["#1f6feb", "#1a7f37", "#bf3989", "#9a6700", "#8250df", "#cf222e", "#0a7ea4", "#6e7781"];

  const $ = (id) => document.getElementById(id);
  let busy = false;

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  function showToken() {
    $("token-state").textContent = token() ? "token set for this tab" : "no token: read-only";
  }

  function message(text) {
    $("message").textContent = text || "";
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function cell(row, text, className) {
    const td = el("td", text, className);
    row.appendChild(td);
    return td;
  }

  function bytes(n) {
    return Number(n).toLocaleString("en-US");
  }

  function rate(n) {
    const units = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
    let v = Number(n);
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
  }

  function seconds(s) {
    const v = Number(s);
    if (v < 60) {
      return v.toFixed(1) + "s";
    }
    if (v < 3600) {
      return Math.floor(v / 60) + "m" + Math.floor(v % 60) + "s";
    }
    return Math.floor(v / 3600) + "h" + Math.floor((v % 3600) / 60) + "m";
  }

  async function getJson(path) {
    const response = await fetch(path, { cache: "no-store" });
    if (!response.ok) {
      throw new Error(path + ": HTTP " + response.status);
    }
    return response.json();
  }

  async function post(path) {
    if (!token()) {
      message("Type the admin token first (admin.token in the config).");
      return false;
    }
    const response = await fetch(path, {
      method: "POST",
      headers: { Authorization: "Bearer " + token() },
    });
    if (response.ok) {
      message("");
      return true;
    }
    let reason = "HTTP " + response.status;
    try {
      const body = await response.json();
      if (body && body.error) {
        reason = body.error;
      }
    } catch (ignored) {
      // not JSON: keep the status
    }
    message(path + ": " + reason);
    return false;
  }

  function badge(text, kind) {
    return el("span", text, "badge " + kind);
  }

  // Rows are kept by key and updated in place, so that a button does not move or vanish under the pointer.
  function syncRows(body, items, key, create, update) {
    const existing = new Map();
    for (const row of Array.from(body.rows)) {
      existing.set(row.dataset.key, row);
    }
    const rows = items.map((item) => {
      const k = key(item);
      let row = existing.get(k);
      if (!row) {
        row = create(item);
        row.dataset.key = k;
      }
      row.item = item;
      update(row, item);
      return row;
    });
    body.replaceChildren(...rows);
  }

  function renderRoutes(routes) {
    syncRows(
      $("routes").tBodies[0],
      routes,
      (r) => r.name,
      (r) => {
        const row = el("tr");
        row.dataset.route = r.name;
        cell(row, r.name);
        for (const name of ["live", "available", "rate-in", "rate-out"]) {
          cell(row, "", "num " + name);
        }
        return row;
      },
      (row, r) => {
        const available = r.backends.filter((b) => b.healthy && !b.drained).length;
        const last = r.throughput.length ? r.throughput[r.throughput.length - 1] : [0, 0, 0];
        row.querySelector(".live").textContent = r.activeConnections;
        row.querySelector(".available").textContent = available + " of " + r.backends.length;
        row.querySelector(".rate-in").textContent = rate(last[1]);
        row.querySelector(".rate-out").textContent = rate(last[2]);
      });
  }

  function renderBackends(routes) {
    const items = [];
    for (const route of routes) {
      for (const b of route.backends) {
        items.push({ route: route.name, backend: b });
      }
    }
    syncRows(
      $("backends").tBodies[0],
      items,
      (i) => JSON.stringify([i.route, i.backend.name]),
      (i) => {
        const row = el("tr");
        row.dataset.route = i.route;
        row.dataset.backend = i.backend.name;
        cell(row, i.route);
        cell(row, i.backend.name);
        cell(row, i.backend.address);
        cell(row, "", "health").appendChild(el("span"));
        cell(row, "", "drain").appendChild(el("span"));
        cell(row, "", "num live");
        cell(row, "", "last-check");
        const action = el("button", "", "drain-toggle");
        action.type = "button";
        action.addEventListener("click", async () => {
          const current = row.item;
          const path = "/api/routes/" + encodeURIComponent(current.route) + "/backends/" +
            encodeURIComponent(current.backend.name) + (current.backend.drained ? "/enable" : "/drain");
          if (await post(path)) {
            refresh();
          }
        });
        cell(row, "").appendChild(action);
        return row;
      },
      (row, i) => {
        const b = i.backend;
        const health = row.querySelector(".health span");
        health.textContent = b.check;
        health.className = "badge " + b.check;
        const drain = row.querySelector(".drain span");
        drain.textContent = b.drained ? "drained" : "enabled";
        drain.className = "badge " + (b.drained ? "drained" : "enabled");
        row.dataset.check = b.check;
        row.dataset.drained = String(b.drained);
        row.querySelector(".live").textContent = b.activeConnections;
        row.querySelector(".last-check").textContent = b.lastCheck ? b.lastCheck.reason : "";
        row.querySelector(".drain-toggle").textContent = b.drained ? "Enable" : "Drain";
      });
  }

  function renderConnections(list) {
    list.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
    const columns = ["id", "route", "client", "backend", "backend-local", "state", "age", "idle",
      "from-client", "from-backend", "rate-in", "rate-out", "spliced"];
    const numeric = new Set(["age", "idle", "from-client", "from-backend", "rate-in", "rate-out"]);
    syncRows(
      $("connections").tBodies[0],
      list,
      (c) => c.id,
      (c) => {
        const row = el("tr");
        row.dataset.id = c.id;
        row.dataset.client = c.client || "";
        for (const name of columns) {
          cell(row, "", (numeric.has(name) ? "num " : "") + name);
        }
        const close = el("button", "Close", "close");
        close.type = "button";
        close.addEventListener("click", async () => {
          close.disabled = true;
          if (await post("/api/connections/" + encodeURIComponent(row.item.id) + "/close")) {
            row.remove();
            refresh();
          } else {
            close.disabled = false;
          }
        });
        cell(row, "").appendChild(close);
        return row;
      },
      (row, c) => {
        const values = [c.id, c.route, c.client, c.backend || "-", c.backendLocal || "-", c.state,
          seconds(c.ageSeconds), seconds(c.idleSeconds), bytes(c.bytesFromClient), bytes(c.bytesFromBackend),
          rate(c.rateFromClient), rate(c.rateFromBackend), c.spliced ? "yes" : "no"];
        values.forEach((v, i) => {
          row.cells[i].textContent = String(v);
        });
      });
    $("connection-count").textContent = "(" + list.length + ")";
  }

  function renderChart(routes) {
    const canvas = $("chart");
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 900;
    const height = canvas.clientHeight || 180;
    if (canvas.width !== Math.round(width * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const now = Date.now();
    const span = 300 * 1000;
    const left = 64;
    const bottom = height - 18;
    let max = 1;
    for (const r of routes) {
      for (const p of r.throughput) {
        max = Math.max(max, p[1] + p[2]);
      }
    }
    g.strokeStyle = "#d0d7de";
    g.fillStyle = "#656d76";
    g.font = "11px system-ui, sans-serif";
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = bottom - (bottom - 8) * i / 4;
      g.beginPath();
      g.moveTo(left, y);
      g.lineTo(width, y);
      g.stroke();
      g.fillText(rate(max * i / 4), 2, y + 4);
    }
    for (let m = 0; m <= 5; m++) {
      const x = left + (width - left) * (1 - m * 60000 / span);
      g.fillText(m === 0 ? "now" : "-" + m + "m", Math.min(x, width - 24), height - 4);
    }
    const legend = [];
    routes.forEach((r, i) => {
      const color = COLORS[i % COLORS.length];
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.beginPath();
      let started = false;
      for (const p of r.throughput) {
        const x = left + (width - left) * (1 - (now - p[0]) / span);
        const y = bottom - (bottom - 8) * (p[1] + p[2]) / max;
        if (x < left) {
          continue;
        }
        if (started) {
          g.lineTo(x, y);
        } else {
          g.moveTo(x, y);
          started = true;
        }
      }
      g.stroke();
      const last = r.throughput.length ? r.throughput[r.throughput.length - 1] : [0, 0, 0];
      const item = el("span", r.name + ": " + rate(last[1] + last[2]));
      item.style.setProperty("--swatch", color);
      legend.push(item);
    });
    $("legend").replaceChildren(...legend);
  }

  async function refresh() {
    if (busy) {
      return;
    }
    busy = true;
    try {
      const [routes, connections] = await Promise.all([getJson("/api/routes"), getJson("/api/connections")]);
      renderRoutes(routes.routes);
      renderBackends(routes.routes);
      renderConnections(connections.connections);
      renderChart(routes.routes);
      const status = $("status");
      status.textContent = "live · " + new Date().toLocaleTimeString() +
        (routes.tokenConfigured ? "" : " · changes off (no admin.token)");
      status.classList.remove("error");
    } catch (e) {
      const status = $("status");
      status.textContent = "admin endpoint unreachable (" + e.message + ")";
      status.classList.add("error");
    } finally {
      busy = false;
    }
  }

  function start() {
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("token").value.trim();
      if (value) {
        sessionStorage.setItem(TOKEN_KEY, value);
      }
      $("token").value = "";
      showToken();
    });
    $("token-forget").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showToken();
    });
    showToken();
    refresh();
    setInterval(refresh, REFRESH_MS);
  }

  start();
})();
