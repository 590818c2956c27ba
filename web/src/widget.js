// The chat widget: a Socket.IO v4 client for Rasa's socketio channel (python-socketio 5 server).
// The shopper id is the socket.io session id, so Rasa's sender id, the page's events and the
// cart all belong to one shopper.
import { io } from '/vendor/socket.io.esm.min.js';
import { el, safeUrl, yuan } from './dom.js';

const HEARTBEAT_MS = 20000;

export function createChat({ root, rasaUrl, socketPath, shopperId, api, onBotMessage }) {
  const log = el('div', { class: 'chat-log', 'data-testid': 'chat-log', role: 'log' });
  const input = el('input', {
    class: 'chat-input',
    'data-testid': 'chat-input',
    maxlength: 500,
    placeholder: '说说想买什么，比如「500以内的跑鞋」',
    'aria-label': '聊天输入',
  });
  const status = el('span', { class: 'chat-status', 'data-testid': 'chat-status', text: '连接中…' });
  const badge = el('span', { class: 'chat-badge', hidden: true });
  const panel = el(
    'section',
    { class: 'chat-panel', 'data-testid': 'chat-panel', hidden: true, 'aria-label': '导购助手' },
    el('header', { class: 'chat-head' }, el('strong', { text: '小购 · 导购助手' }), status,
      el('button', { class: 'chat-close', type: 'button', 'aria-label': '收起', text: '×', onclick: () => toggle(false) })),
    log,
    el('form', { class: 'chat-form', onsubmit: (e) => { e.preventDefault(); sendTyped(); } },
      input, el('button', { type: 'submit', 'data-testid': 'chat-send', text: '发送' })),
  );
  const launcher = el('button', {
    class: 'chat-launcher', type: 'button', 'data-testid': 'chat-open', onclick: () => toggle(),
  }, '💬 问问小购', badge);
  root.append(panel, launcher);

  let unread = 0;
  function toggle(open = panel.hidden) {
    panel.hidden = !open;
    launcher.hidden = open;
    if (open) { unread = 0; badge.hidden = true; input.focus(); }
  }

  const socket = io(rasaUrl, { path: socketPath, transports: ['websocket'], reconnectionDelayMax: 10000 });
  let heartbeat = null;
  const presence = (open) => api.presence(shopperId, open).catch(() => {});

  socket.on('connect', () => {
    socket.emit('session_request', { session_id: shopperId });
    status.textContent = '在线';
    presence(true);
    clearInterval(heartbeat);
    heartbeat = setInterval(() => presence(true), HEARTBEAT_MS);
  });
  socket.on('disconnect', () => {
    status.textContent = '已断开，重连中…';
    clearInterval(heartbeat);
    presence(false);
  });
  socket.on('connect_error', () => { status.textContent = '暂时连不上，稍后重试…'; });
  socket.on('bot_uttered', (message) => {
    render(message);
    if (panel.hidden) { unread += 1; badge.textContent = String(unread); badge.hidden = false; }
    onBotMessage?.(message);
  });
  window.addEventListener('pagehide', () => {
    navigator.sendBeacon?.('/api/presence', JSON.stringify({ shopper: shopperId, open: false }));
  });

  function send(payload, shown) {
    if (shown) addLine('user', shown);
    socket.emit('user_uttered', { message: payload, session_id: shopperId, metadata: { page: location.hash || '#/' } });
  }

  function sendTyped() {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    send(text, text);
  }

  function addLine(who, text) {
    const line = el('div', { class: `msg msg-${who}`, 'data-testid': `msg-${who}` }, el('p', { text }));
    log.append(line);
    log.scrollTop = log.scrollHeight;
    return line;
  }

  function buttonRow(buttons) {
    return el('div', { class: 'quick-replies' }, buttons.map((b) => el('button', {
      type: 'button',
      class: 'quick-reply',
      text: b.title,
      onclick: () => send(String(b.payload ?? b.title), b.title),
    })));
  }

  function productCard(item) {
    const offer = item.offer && (typeof item.offer === 'string' ? item.offer : item.offer.text || item.offer.title);
    const listPrice = Number(item.list_price);
    return el('article', { class: 'chat-card', 'data-testid': 'chat-card', dataset: { productId: item.id, price: item.price } },
      el('a', { href: safeUrl(item.url) || `#/p/${encodeURIComponent(item.id)}` },
        el('img', { src: safeUrl(item.image) || `/images/products/${encodeURIComponent(item.id)}.svg`, alt: item.title, loading: 'lazy' })),
      el('div', { class: 'chat-card-body' },
        el('h4', { text: item.title }),
        el('p', { class: 'price' },
          el('span', { class: 'now', 'data-testid': 'card-price', text: yuan(item.price) }),
          listPrice > Number(item.price) ? el('s', { class: 'was', text: yuan(listPrice) }) : null),
        item.reason ? el('p', { class: 'reason', text: item.reason }) : null,
        offer ? el('p', { class: 'offer', text: `惠 ${offer}` }) : null,
        el('div', { class: 'card-actions' },
          el('button', {
            type: 'button', 'data-testid': 'card-add', text: '加入购物车',
            onclick: async (e) => {
              e.target.disabled = true;
              try {
                await api.addToCart(shopperId, item.id);
                addLine('note', `已加入购物车：${item.title}`);
              } catch (err) {
                addLine('note', `没加上：${err.message}`);
              } finally {
                e.target.disabled = false;
              }
            },
          }),
          el('button', {
            type: 'button', 'data-testid': 'card-similar', text: '看相似',
            onclick: () => send(`/ask_similar${JSON.stringify({ product_id: item.id })}`, `看相似：${item.title}`),
          }))));
  }

  function renderCustom(custom, buttons) {
    if (!custom || typeof custom !== 'object') return;
    if (custom.type === 'products' && Array.isArray(custom.items)) {
      const more = (buttons || []).find((b) => b.title === '换一批');
      const box = el('div', { class: 'msg msg-bot msg-cards', 'data-testid': 'msg-products' },
        custom.text ? el('p', { text: custom.text }) : null,
        el('div', { class: 'chat-cards' }, custom.items.map(productCard)),
        el('div', { class: 'quick-replies' }, el('button', {
          type: 'button', class: 'quick-reply', 'data-testid': 'card-more', text: '换一批',
          onclick: () => send(String(more?.payload || '换一批'), '换一批'),
        })));
      log.append(box);
    } else if (custom.type === 'offer') {
      log.append(el('div', { class: 'msg msg-bot msg-offer', 'data-testid': 'msg-offer' },
        el('strong', { text: `专属优惠 · ${custom.title || ''}` }),
        el('p', { text: custom.text || '' })));
    } else if (typeof custom.text === 'string') {
      addLine('bot', custom.text);
    }
    log.scrollTop = log.scrollHeight;
  }

  function render(message) {
    if (!message || typeof message !== 'object') return;
    const buttons = Array.isArray(message.buttons || message.quick_replies) ? (message.buttons || message.quick_replies) : [];
    const cards = message.custom?.type === 'products';
    let text = typeof message.text === 'string' ? message.text : '';
    // A product reply's text is the plain-text version for card-less channels: the cards show
    // it here, so only its first line (the intro) is kept, and the cards carry the buttons.
    if (cards) text = text.split('\n')[0];
    // An offer card carries the whole offer; its text twin is for card-less channels.
    if (message.custom?.type === 'offer') text = '';
    if (text) addLine('bot', text);
    if (buttons.length && !cards) log.append(buttonRow(buttons));
    if (message.custom) renderCustom(message.custom, buttons);
    const image = safeUrl(message.image || message.attachment?.payload?.src);
    if (image) log.append(el('div', { class: 'msg msg-bot' }, el('img', { src: image, alt: '' })));
    log.scrollTop = log.scrollHeight;
  }

  return { toggle, send, socket };
}
