// The mall's display board (/board, /board?agency=slug): the numbers just called to a counter,
// per agency, readable across the hall; each new call (and each recall) is announced with a
// chime and an Indonesian voice ("Nomor antrian A tujuh, silakan ke loket tiga", the text the
// server writes). No login and nothing about the citizen but the number. Live through
// EventSource /api/v1/board/events (it reconnects by itself).
//
// Browsers only let a page make sound after someone touched it: the "Aktifkan suara" button is
// pressed once when the TV is set up (a kiosk browser may also be started with autoplay allowed).

import { initI18n, setI18n, setName, setSiteZone, formatTime } from './i18n.js';
import { byId, el, show } from './dom.js';

await initI18n();

const state = {
  seen: new Set(), // call ids already shown (announced once each)
  first: true,
  sound: false,
  queue: [], // announcements waiting for the voice
  speaking: false,
};

const agency = new URLSearchParams(location.search).get('agency');

// ---------------------------------------------------------------------------
// Sound: a two-tone chime, then the voice

let audio = null;
function chime() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return Promise.resolve();
  audio = audio || new Ctx();
  const now = audio.currentTime;
  const tone = (freq, at, len) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + at);
    gain.gain.exponentialRampToValueAtTime(0.4, now + at + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + at + len);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + at);
    osc.stop(now + at + len + 0.05);
  };
  tone(880, 0, 0.5);
  tone(660, 0.45, 0.7);
  return new Promise((r) => setTimeout(r, 1200));
}

function indonesianVoice() {
  const voices = window.speechSynthesis?.getVoices?.() || [];
  return voices.find((v) => v.lang === 'id-ID') || voices.find((v) => v.lang?.startsWith('id')) || null;
}

function say(text) {
  return new Promise((resolve) => {
    const synth = window.speechSynthesis;
    if (!synth || typeof SpeechSynthesisUtterance === 'undefined') {
      resolve();
      return;
    }
    const u = new SpeechSynthesisUtterance(text);
    u.lang = 'id-ID';
    const voice = indonesianVoice();
    if (voice) u.voice = voice;
    u.rate = 0.9;
    u.onend = resolve;
    u.onerror = resolve;
    // Never hang the queue on a voice that does not answer.
    setTimeout(resolve, 15000);
    synth.speak(u);
  });
}

async function announceNext() {
  if (state.speaking) return;
  state.speaking = true;
  while (state.queue.length) {
    const call = state.queue.shift();
    if (state.sound) await chime().catch(() => {});
    // The text is asked for even when the chime could not play: a voice may still speak.
    await say(call.announcement);
    if (state.queue.length) await new Promise((r) => setTimeout(r, 600));
  }
  state.speaking = false;
}

byId('board-sound').addEventListener('click', () => {
  state.sound = true;
  chime().catch(() => {});
  // A short silent utterance unlocks the voice for later calls on browsers that need a tap.
  try {
    const u = new SpeechSynthesisUtterance(' ');
    u.volume = 0;
    window.speechSynthesis?.speak(u);
  } catch {
    /* no voice here */
  }
  setI18n(byId('board-sound'), 'board.sound_is_on');
  byId('board-sound').disabled = true;
});

// ---------------------------------------------------------------------------
// Showing the board

function where(call) {
  return call.counter ? { key: 'board.to_counter', params: { counter: call.counter } }
    : { key: 'board.to_clerk', params: { clerk: call.clerk } };
}

function render(board) {
  if (board.timezone) setSiteZone(board.timezone);
  const calls = [];
  const panels = board.agencies.map((a) => {
    const list = el('ol', { class: 'board-calls' });
    for (const [i, c] of a.calls.entries()) {
      calls.push(c);
      const w = where(c);
      const whereNode = el('span', { class: 'board-call-where' });
      setI18n(whereNode, w.key, w.params);
      list.append(el('li', {
        class: `board-call${i === 0 ? ' is-latest' : ''}${c.serving ? ' is-serving' : ''}`,
        data: { testid: 'board-call', callId: c.call_id, number: c.number },
      }, [
        el('span', { class: 'board-call-number', text: c.number }),
        whereNode,
        el('span', { class: 'board-call-time', text: formatTime(c.called_at) }),
      ]));
    }
    const name = el('h2', { class: 'board-agency-name' });
    setName(name, a);
    return el('section', { class: 'board-agency', data: { testid: 'board-agency', slug: a.slug } }, [
      el('p', { class: 'board-prefix', text: a.prefix, attrs: { 'aria-hidden': 'true' } }),
      name,
      list,
    ]);
  });
  byId('board-agencies').replaceChildren(...panels);
  show(byId('board-empty'), panels.length === 0 || calls.length === 0);

  // New calls since the last event: the newest goes large, each is announced once. On the
  // first load nothing is announced (those calls were made before the board was on).
  const fresh = calls.filter((c) => !state.seen.has(c.call_id))
    .sort((x, y) => Date.parse(x.called_at) - Date.parse(y.called_at));
  for (const c of calls) state.seen.add(c.call_id);
  const latest = [...calls].sort((x, y) => Date.parse(y.called_at) - Date.parse(x.called_at))[0];
  show(byId('board-latest'), !!latest);
  if (latest) {
    byId('board-latest-number').textContent = latest.number;
    const w = where(latest);
    setI18n(byId('board-latest-where'), w.key, w.params);
  }
  if (!state.first && fresh.length) {
    const box = byId('board-latest');
    box.classList.remove('flash');
    void box.offsetWidth; // restart the animation
    box.classList.add('flash');
    state.queue.push(...fresh);
    announceNext();
  }
  state.first = false;
}

function connect() {
  const url = `/api/v1/board/events${agency ? `?agency=${encodeURIComponent(agency)}` : ''}`;
  const es = new EventSource(url);
  es.addEventListener('board', (ev) => {
    try {
      render(JSON.parse(ev.data));
      setI18n(byId('board-status'), 'board.live');
    } catch {
      /* the next event repeats the whole board */
    }
  });
  es.onerror = () => {
    setI18n(byId('board-status'), 'board.reconnecting');
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
  };
}

function tick() {
  byId('board-clock').textContent = formatTime(new Date());
}
setInterval(tick, 10_000);
tick();
connect();
