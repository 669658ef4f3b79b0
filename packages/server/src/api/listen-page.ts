/**
 * The live-listening page served at `GET /listen/<sessionId>` (docs/api.md "Live listening"): one
 * self-contained HTML document, no build step. It opens the WebSocket at `<its own path>/ws` with
 * its own query (the media token), plays channel 0 left and channel 1 right with Web Audio, each
 * frame scheduled on an AudioBufferSourceNode behind a small jitter buffer, and shows the state.
 *
 * For tests and curious operators it keeps, on `window.verbatimListen`, its state, the delay of
 * every frame from its arrival at the recorder to when it is played, and the last seconds of PCM
 * it scheduled per channel (`samples(channel)`, `sampleRateHz[channel]`).
 *
 * It is static on purpose: nothing from the request is written into it (the script reads the
 * session id from its own URL), so it needs no escaping and can be cached.
 */
export const LISTEN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Verbatim - live call</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }
  #state { font-size: 1.5rem; font-weight: 600; }
  #state[data-state="live"] { color: #0a7a2f; }
  #state[data-state="ended"] { color: #555; }
  #state[data-state="error"] { color: #b00020; }
  .channel { display: flex; gap: 1rem; align-items: center; margin: .4rem 0; }
  .channel span { width: 9rem; }
  meter { width: 16rem; }
</style>
</head>
<body>
<main>
  <h1>Live call</h1>
  <p>Session <code id="session"></code></p>
  <p id="state" data-state="connecting" role="status" aria-live="polite">connecting</p>
  <p id="detail"></p>
  <button id="start" type="button" hidden>Start listening</button>
  <div class="channel"><span>Left: track 0</span><meter id="level0" min="0" max="1" value="0"></meter></div>
  <div class="channel"><span>Right: track 1</span><meter id="level1" min="0" max="1" value="0"></meter></div>
  <p><small>Delay from the recorder to your ears: <span id="delay">-</span></small></p>
</main>
<script>
"use strict";
(function () {
  // The jitter buffer: a frame plays TARGET_S after it arrives when the queue has run dry; a
  // frame that would play later than MAX_LEAD_S from now is dropped so the delay stays small.
  var TARGET_S = 0.15;
  var MIN_LEAD_S = 0.02;
  var MAX_LEAD_S = 0.6;
  var KEEP_S = 30;
  var HEADER_BYTES = 16;

  var parts = location.pathname.split("/");
  var sessionId = decodeURIComponent(parts[parts.length - 1] || "");
  document.getElementById("session").textContent = sessionId;
  var stateEl = document.getElementById("state");
  var detailEl = document.getElementById("detail");
  var startButton = document.getElementById("start");

  var kept = [[], []];
  var status = {
    state: "connecting",
    detail: "",
    frames: [0, 0],
    dropped: 0,
    delaysMs: [],
    sampleRateHz: [0, 0],
    audioState: "",
    samples: function (channel) {
      var chunks = kept[channel] || [];
      var length = 0;
      for (var i = 0; i < chunks.length; i++) length += chunks[i].length;
      var out = new Array(length);
      var offset = 0;
      for (var j = 0; j < chunks.length; j++) {
        for (var k = 0; k < chunks[j].length; k++) out[offset++] = chunks[j][k];
      }
      return out;
    }
  };
  window.verbatimListen = status;

  function show(state, detail) {
    if (status.state === "ended" || status.state === "error") return;
    status.state = state;
    status.detail = detail || "";
    stateEl.textContent = state;
    stateEl.dataset.state = state;
    detailEl.textContent = detail || "";
  }

  var AudioContextClass = window.AudioContext || window.webkitAudioContext;
  var audio = new AudioContextClass({ latencyHint: "interactive" });
  var merger = audio.createChannelMerger(2);
  merger.connect(audio.destination);
  var nextStart = [0, 0];
  var keptSamples = [0, 0];

  function audioStateChanged() {
    status.audioState = audio.state;
    startButton.hidden = audio.state !== "suspended";
  }
  audio.onstatechange = audioStateChanged;
  audioStateChanged();
  startButton.addEventListener("click", function () { audio.resume(); });

  function play(channel, rate, arrivalMs, pcm) {
    var samples = new Float32Array(pcm.length);
    var sum = 0;
    for (var i = 0; i < pcm.length; i++) {
      samples[i] = pcm[i] / 32768;
      sum += samples[i] * samples[i];
    }
    var now = audio.currentTime;
    var at = nextStart[channel];
    if (at < now + MIN_LEAD_S) at = now + TARGET_S;
    if (at > now + MAX_LEAD_S) { status.dropped++; return; }
    var buffer = audio.createBuffer(1, samples.length, rate);
    buffer.copyToChannel(samples, 0);
    var source = audio.createBufferSource();
    source.buffer = buffer;
    source.connect(merger, 0, channel);
    source.start(at);
    nextStart[channel] = at + samples.length / rate;
    // When this frame reaches the speaker, on the wall clock, against when it reached the recorder.
    var latency = (audio.outputLatency || 0) + (audio.baseLatency || 0);
    var playoutMs = performance.timeOrigin + performance.now() + (at - now + latency) * 1000;
    var delayMs = playoutMs - arrivalMs;
    status.delaysMs.push(delayMs);
    if (status.delaysMs.length > 2000) status.delaysMs.shift();
    document.getElementById("delay").textContent = Math.round(delayMs) + " ms";
    document.getElementById("level" + channel).value = Math.min(1, Math.sqrt(sum / Math.max(1, pcm.length)) * 4);
    status.frames[channel]++;
    status.sampleRateHz[channel] = rate;
    kept[channel].push(pcm);
    keptSamples[channel] += pcm.length;
    while (keptSamples[channel] > KEEP_S * rate && kept[channel].length > 1) {
      keptSamples[channel] -= kept[channel].shift().length;
    }
  }

  var wsUrl = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host +
    location.pathname + "/ws" + location.search;
  var socket = new WebSocket(wsUrl);
  socket.binaryType = "arraybuffer";
  socket.onmessage = function (event) {
    if (typeof event.data === "string") {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "start") show("live", "");
      else if (message.type === "end") show("ended", message.reason || "");
      else if (message.type === "error") show("error", message.reason || "");
      return;
    }
    var view = new DataView(event.data);
    if (event.data.byteLength < HEADER_BYTES || view.getUint8(0) !== 1) return;
    var channel = view.getUint8(1);
    if (channel > 1) return;
    var rate = view.getUint32(4, true);
    var arrivalMs = view.getFloat64(8, true);
    var count = (event.data.byteLength - HEADER_BYTES) >> 1;
    var pcm = new Int16Array(count);
    for (var i = 0; i < count; i++) pcm[i] = view.getInt16(HEADER_BYTES + 2 * i, true);
    play(channel, rate, arrivalMs, pcm);
  };
  socket.onclose = function (event) {
    if (status.state !== "ended") {
      show("error", event.reason || "the connection to the recorder was lost (" + event.code + ")");
    }
  };
  socket.onerror = function () {
    show("error", "the recorder refused the connection or could not be reached");
  };
})();
</script>
</body>
</html>
`;
