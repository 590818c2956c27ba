// The storefront page: categories, product grid and detail, cart, 猜你喜欢, behaviour events.
import { el, safeUrl, yuan } from './dom.js';
import { createChat } from './widget.js';

const SHOPPER_KEY = 'shopbot.shopper';

function shopperId() {
  let id = localStorage.getItem(SHOPPER_KEY);
  if (!id || !/^[A-Za-z0-9_-]{6,64}$/.test(id)) {
    id = `w${crypto.randomUUID().replaceAll('-', '')}`;
    localStorage.setItem(SHOPPER_KEY, id);
  }
  return id;
}

async function call(method, path, body) {
  const resp = await fetch(path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.error || `HTTP ${resp.status}`);
  return data;
}

const shopper = shopperId();
const view = document.getElementById('view');
const recsBox = document.getElementById('recs');
// replaceChildren would print "null" for the optional parts: drop them first.
const show = (...nodes) => view.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
const cartCount = document.getElementById('cart-count');

const api = {
  addToCart: async (id, productId) => { const cart = await call('POST', '/api/cart', { shopper: id, product_id: productId }); showCart(cart); return cart; },
  presence: (id, open) => call('POST', '/api/presence', { shopper: id, open }),
  event: (body) => call('POST', '/api/events', { shopper, ...body }),
};

let cartState = { items: [], count: 0, total: 0, coupons: [] };
function showCart(cart) {
  cartState = cart;
  cartCount.textContent = String(cart.count);
  if (location.hash === '#/cart') renderCart();
  refreshRecs();
}
const loadCart = async () => showCart(await call('GET', `/api/cart?shopper=${shopper}`));

let recsTimer = null;
function refreshRecs() {
  // Several events often land together (view + cart): fetch once they settle.
  clearTimeout(recsTimer);
  recsTimer = setTimeout(async () => {
    const data = await call('GET', `/api/recommendations?shopper=${shopper}&k=8`).catch(() => null);
    if (!data) return;
    recsBox.replaceChildren(...data.items.map((p) => tile(p, true)));
    recsBox.dataset.version = String(Number(recsBox.dataset.version || 0) + 1);
  }, 150);
}

function tile(p, withReason = false) {
  const listPrice = Number(p.list_price);
  return el('a', { class: 'tile', href: `#/p/${encodeURIComponent(p.id)}`, 'data-testid': 'tile', dataset: { productId: p.id } },
    el('img', { src: safeUrl(p.image) || '', alt: p.title, loading: 'lazy' }),
    el('span', { class: 'title', text: p.title }),
    el('span', { class: 'price' }, el('b', { text: yuan(p.price) }),
      listPrice > Number(p.price) ? el('s', { text: yuan(listPrice) }) : null),
    withReason && p.reason ? el('span', { class: 'reason', text: p.reason }) : null);
}

async function renderCategories() {
  const { categories } = await call('GET', '/api/categories');
  const nav = document.getElementById('categories');
  nav.replaceChildren(el('a', { href: '#/', text: '全部' }),
    ...categories.map((c) => el('a', { href: `#/c/${encodeURIComponent(c.name)}`, text: c.name })));
}

async function renderGrid(category, query) {
  const params = new URLSearchParams({ limit: '24' });
  if (category) params.set('category', category);
  if (query) params.set('q', query);
  const data = await call('GET', `/api/products?${params}`);
  const heading = query ? `搜索「${query}」` : category || '全部商品';
  show(el('h1', { text: heading }),
    data.items.length ? el('div', { class: 'grid', 'data-testid': 'grid' }, data.items.map((p) => tile(p)))
      : el('p', { class: 'empty', text: '没有找到相关商品，换个词试试～' }));
}

// A product view is one event: posted on open (so recommendations react at once) and posted
// again with the same id on leave to record the dwell time.
let openView = null;
function closeView() {
  if (!openView) return;
  const dwell = (performance.now() - openView.started) / 1000;
  const body = JSON.stringify({ shopper, type: 'view', product_id: openView.productId, event_id: openView.eventId, dwell_seconds: Math.round(dwell * 10) / 10 });
  openView = null;
  navigator.sendBeacon('/api/events', body);
}
window.addEventListener('pagehide', closeView);

async function renderProduct(productId) {
  const p = await call('GET', `/api/products/${encodeURIComponent(productId)}`).catch(() => null);
  if (!p) { show(el('p', { class: 'empty', text: '这件商品不存在或已下架' })); return; }
  const attrs = (p.specs || []).map(({ name, value }) => el('li', { text: `${name}：${value}` }));
  const listPrice = Number(p.list_price);
  show(el('article', { class: 'detail', 'data-testid': 'detail', dataset: { productId: p.id } },
    el('img', { src: safeUrl(p.image) || '', alt: p.title }),
    el('div', {},
      el('h1', { text: p.title }),
      el('p', { class: 'brand', text: `${p.brand} · ${p.category}` }),
      el('p', { class: 'price' }, el('b', { text: yuan(p.price) }), listPrice > Number(p.price) ? el('s', { text: yuan(listPrice) }) : null),
      p.offers?.length ? el('p', { class: 'offer', text: `优惠：${p.offers.join('；')}` }) : null,
      p.service?.length ? el('p', { class: 'service', 'data-testid': 'detail-service', text: `服务：${p.service.join(' · ')}` }) : null,
      el('ul', { class: 'attrs' }, attrs),
      p.description ? el('p', { class: 'desc', text: p.description }) : null,
      el('p', { class: 'stock', text: p.stock > 0 ? `有货（${p.stock}）` : '暂时缺货' }),
      el('button', {
        type: 'button', class: 'primary', 'data-testid': 'detail-add', disabled: p.stock <= 0 ? true : null, text: '加入购物车',
        onclick: () => api.addToCart(shopper, p.id).catch((e) => alert(e.message)),
      }))));
  const eventId = `v${crypto.randomUUID().replaceAll('-', '')}`;
  openView = { productId: p.id, eventId, started: performance.now() };
  await api.event({ type: 'view', product_id: p.id, event_id: eventId }).catch(() => null);
  refreshRecs();
}

function renderCart() {
  const c = cartState;
  const rows = c.items.map((i) => el('li', { class: 'cart-line', 'data-testid': 'cart-line', dataset: { productId: i.id } },
    el('img', { src: safeUrl(i.image) || '', alt: '' }),
    el('a', { href: `#/p/${encodeURIComponent(i.id)}`, text: i.title }),
    el('span', { text: `${yuan(i.price)} × ${i.quantity}` }),
    el('button', { type: 'button', text: '删除', onclick: async () => showCart(await call('DELETE', `/api/cart/${encodeURIComponent(i.id)}?shopper=${shopper}`)) })));
  show(el('h1', { text: '购物车' }),
    c.items.length ? el('ul', { class: 'cart' }, rows) : el('p', { class: 'empty', text: '购物车还是空的，去逛逛吧～' }),
    c.coupons?.length ? el('p', { class: 'offer', 'data-testid': 'coupons', text: `可用优惠：${c.coupons.map((g) => g.title).join('；')}` }) : null,
    el('p', { class: 'total', text: `合计：${yuan(c.total)}` }),
    c.items.length ? el('button', {
      type: 'button', class: 'primary', 'data-testid': 'checkout', text: '结算',
      onclick: async () => {
        const order = await call('POST', '/api/checkout', { shopper }).catch((e) => ({ error: e.message }));
        if (order.error) { alert(order.error); return; }
        const saved = order.discount > 0 ? `，已优惠${yuan(order.discount)}` : '';
        location.hash = '#/order';
        await loadCart();
        show(el('h1', { text: '下单成功' }), el('p', { 'data-testid': 'order-done', text: `订单号 ${order.order_id}，实付${yuan(order.total)}${saved}` }));
      },
    }) : null);
}

async function route() {
  closeView();
  const hash = decodeURIComponent(location.hash.slice(1) || '/');
  const [, kind, arg] = hash.split('/');
  if (kind === 'p' && arg) await renderProduct(arg);
  else if (kind === 'c' && arg) await renderGrid(arg);
  else if (kind === 's') await renderGrid(null, arg);
  else if (kind === 'cart') renderCart();
  else if (kind === 'order') { /* the checkout handler fills the page */ }
  else await renderGrid();
}

document.getElementById('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = document.getElementById('search-input').value.trim();
  if (!q) return;
  api.event({ type: 'search', query: q }).catch(() => null);
  location.hash = `#/s/${encodeURIComponent(q)}`;
});
window.addEventListener('hashchange', route);

async function start() {
  document.body.dataset.shopper = shopper;
  await Promise.all([renderCategories(), loadCart(), route()]);
  const config = await call('GET', '/api/config');
  createChat({
    root: document.getElementById('chat-root'),
    rasaUrl: config.rasa_url,
    socketPath: config.socket_path,
    shopperId: shopper,
    api,
    // The bot may have changed the cart or learnt a preference: show it.
    onBotMessage: () => { loadCart().catch(() => null); },
  });
  document.body.dataset.ready = 'true';
}

start().catch((e) => {
  show(el('p', { class: 'empty', text: `页面加载失败：${e.message}` }));
});
