// The reviewer console: plain DOM over the service's own API, with the person's key. Every text
// from the API goes in through textContent, never as markup.

const KEY_STORAGE = 'kyc-console-api-key';
const API = '/api/v1';

/** The document transition table of the service (src/cases/documents.ts); the API has the last word. */
const DOCUMENT_TRANSITIONS = {
  AWAITING_UPLOAD: ['UPLOADED', 'NOT_APPLICABLE'],
  UPLOADED: ['VERIFIED_SYSTEM', 'VERIFIED_MANUAL', 'REJECTED'],
  VERIFIED_SYSTEM: ['VERIFIED_MANUAL', 'REJECTED'],
  VERIFIED_MANUAL: [],
  REJECTED: ['UPLOADED', 'NOT_APPLICABLE'],
  NOT_APPLICABLE: ['AWAITING_UPLOAD'],
};

const $ = (selector) => document.querySelector(selector);
const state = {
  caseId: null,
  reasonCodes: null,
  documents: [],
  names: new Map(),
  parties: null,
  timeline: [],
};

/** A DOM element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'className') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

const badge = (text) => el('span', { className: `badge ${text}` }, text ?? '—');
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const shortWhen = (iso) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' }) : '—';

// --- talking to the API ------------------------------------------------------------------------

class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

const apiKey = () => sessionStorage.getItem(KEY_STORAGE);

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${apiKey() ?? ''}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = { title: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiProblem(response.status, parsed);
  return parsed;
}

// --- messages --------------------------------------------------------------------------------

function say(message) {
  $('#status').textContent = message;
}

function clearError() {
  const box = $('#error');
  box.hidden = true;
  box.replaceChildren();
}

/** Shows a problem+json answer: title, detail, the violations, and the allowed next steps. */
function showError(error) {
  const box = $('#error');
  const problem = error instanceof ApiProblem ? error.problem : { title: String(error?.message ?? error) };
  const parts = [el('strong', {}, problem.title ?? 'Request failed')];
  if (error instanceof ApiProblem)
    parts.push(` (HTTP ${error.status}${problem.code ? `, ${problem.code}` : ''})`);
  if (problem.detail) parts.push(el('div', {}, problem.detail));
  const items = [];
  for (const violation of problem.violations ?? []) items.push(`${violation.path}: ${violation.message}`);
  if (Array.isArray(problem.allowed)) {
    items.push(`Allowed now: ${problem.allowed.length === 0 ? 'nothing' : problem.allowed.join(', ')}`);
  }
  if (items.length > 0)
    parts.push(
      el(
        'ul',
        {},
        items.map((item) => el('li', {}, item)),
      ),
    );
  box.replaceChildren(...parts);
  box.hidden = false;
  box.focus();
  say('');
}

/** Runs an action with its errors shown to the person. */
async function attempt(action) {
  clearError();
  try {
    await action();
  } catch (error) {
    showError(error);
  }
}

// --- the key ---------------------------------------------------------------------------------

function showKeyState() {
  const hasKey = apiKey() !== null;
  $('#key-form').hidden = hasKey;
  $('#key-status').hidden = !hasKey;
}

$('#key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('#api-key').value.trim();
  if (key === '') return;
  sessionStorage.setItem(KEY_STORAGE, key);
  $('#api-key').value = '';
  state.reasonCodes = null;
  showKeyState();
  $('#forget-key').focus();
  void attempt(loadQueue);
});

$('#forget-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE);
  state.reasonCodes = null;
  showKeyState();
  $('#queue-table tbody').replaceChildren();
  $('#case').hidden = true;
  say('Key forgotten.');
  $('#api-key').focus();
});

// --- the queue -------------------------------------------------------------------------------

async function loadQueue() {
  const form = new FormData($('#queue-filters'));
  const query = new URLSearchParams({ limit: '50' });
  for (const name of ['assignee', 'risk', 'status']) {
    const value = String(form.get(name) ?? '').trim();
    if (value !== '') query.set(name, value);
  }
  const cases = await api('GET', `/review-queue?${query}`);
  const rows = cases.map((found) =>
    el(
      'tr',
      { className: found.id === state.caseId ? 'current' : '' },
      el(
        'td',
        {},
        el('button', { type: 'button', className: 'row-link', 'data-case': found.id }, shortId(found.id)),
      ),
      el('td', {}, badge(found.status)),
      el('td', {}, badge(found.risk?.effective ?? '—')),
      el('td', {}, found.assignee ?? '—'),
      el('td', {}, shortWhen(found.status_since ?? found.updated_at)),
    ),
  );
  $('#queue-table tbody').replaceChildren(...rows);
  $('#queue-empty').hidden = rows.length > 0;
  say(`Queue: ${rows.length} case${rows.length === 1 ? '' : 's'} waiting.`);
}

const shortId = (id) => (id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);

$('#queue-filters').addEventListener('submit', (event) => {
  event.preventDefault();
  void attempt(loadQueue);
});

$('#queue-table').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-case]');
  if (button) void attempt(() => openCase(button.dataset.case));
});

$('#open-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = $('#open-case-id').value.trim();
  if (id !== '') void attempt(() => openCase(id));
});

// --- a case ----------------------------------------------------------------------------------

/** Loads everything about a case; `position` waits for the read models to include a change. */
async function openCase(caseId, position) {
  const consistent = position ? `min_position=${encodeURIComponent(position)}` : '';
  const withPosition = (path) =>
    consistent === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${consistent}`;
  const id = encodeURIComponent(caseId);
  const found = await api('GET', withPosition(`/cases/${id}`));
  const isNewCase = state.caseId !== caseId;
  const [parties, documents, timeline, reasonCodes] = await Promise.all([
    // Parties do not change after intake, and every read of them is recorded: read once per case.
    isNewCase || state.parties === null ? loadParties(found) : state.parties,
    api('GET', withPosition(`/documents/case/${id}?limit=500`)),
    api('GET', withPosition(`/cases/${id}/timeline?limit=500`)),
    state.reasonCodes ?? api('GET', '/reason-codes'),
  ]);
  state.reasonCodes = reasonCodes;
  state.caseId = caseId;
  state.parties = parties;
  state.documents = documents;
  state.timeline = timeline;
  renderCase(found, parties.company, parties.persons, parties.owners, documents);
  $('#case').hidden = false;
  if (isNewCase) $('#case-title').focus();
  say(`Case ${caseId} loaded.`);
}

async function loadParties(found) {
  const id = encodeURIComponent(found.id);
  const persons = api('GET', `/persons/case/${id}?limit=500`);
  if (!found.company_id) return { company: null, persons: await persons, owners: [] };
  const companyId = encodeURIComponent(found.company_id);
  const [company, owners] = await Promise.all([
    api('GET', `/companies/${companyId}`),
    api('GET', `/companies/${companyId}/beneficial-owners?limit=500`),
  ]);
  return { company, persons: await persons, owners };
}

function renderCase(found, company, persons, owners, documents) {
  $('#case-title').textContent = `Case ${found.id}`;
  const risk = found.risk ?? {};
  const approvals = found.approvals ?? [];
  const summary = [
    ['Status', badge(found.status)],
    ['Type', `${found.traitement_type} · ${found.type}`],
    ['Client', found.client_id],
    ['Assignee', found.assignee ?? '—'],
    ['Risk', risk.effective ? badge(risk.effective) : '—'],
    [
      'Approvals',
      approvals.length === 0 ? 'none' : approvals.map((a) => `${a.by} (${when(a.at)})`).join(', '),
    ],
    ['In this status since', when(found.status_since)],
    ['Opened', when(found.created_at)],
  ];
  $('#case-summary').replaceChildren(
    ...summary.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]),
  );

  $('#company-section').hidden = company === null;
  if (company !== null) {
    const address = company.registered_address ?? {};
    $('#company').replaceChildren(
      ...[
        ['Name', company.registered_name],
        ['Registration', `${company.registration_number} (${company.country_of_incorporation})`],
        ['Sector', company.industry_sector ?? '—'],
        [
          'Address',
          [address.street, address.city, address.postal_code, address.country].filter(Boolean).join(', '),
        ],
      ].flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]),
    );
  }

  const names = new Map();
  if (company !== null) names.set(company.id, company.registered_name);
  const partyRows = [];
  for (const person of persons) {
    names.set(person.id, `${person.firstname} ${person.lastname}`);
    partyRows.push(
      el(
        'tr',
        {},
        el('td', {}, `${person.firstname} ${person.lastname}`),
        el('td', {}, person.role_in_company ?? 'Individual'),
        el('td', {}, person.birthdate ?? '—'),
        el('td', {}, '—'),
      ),
    );
  }
  for (const owner of owners) {
    names.set(owner.id, `${owner.firstname} ${owner.lastname}`);
    const share =
      owner.ownership_percentage === null
        ? '—'
        : `${owner.ownership_percentage}%${owner.is_ubo ? ' (UBO)' : ''}`;
    partyRows.push(
      el(
        'tr',
        {},
        el('td', {}, `${owner.firstname} ${owner.lastname}`),
        el('td', {}, 'Beneficial owner'),
        el('td', {}, owner.birthdate ?? '—'),
        el('td', {}, share),
      ),
    );
  }
  $('#parties tbody').replaceChildren(...partyRows);
  names.set(found.id, 'Case');
  state.names = names;

  $('#documents tbody').replaceChildren(...documents.map((doc) => documentRow(doc, names)));

  $('#risk-line').textContent = riskLine(risk);
  const factors = risk.factors ?? [];
  $('#risk-factors tbody').replaceChildren(
    ...factors.map((f) =>
      el(
        'tr',
        {},
        el('td', {}, f.factor),
        el('td', {}, f.input),
        el('td', {}, f.points),
        el('td', {}, f.detail),
      ),
    ),
  );

  renderReasonCodes();
  renderRequestedDocuments();
  renderTimeline();
}

function renderTimeline() {
  const showReads = $('#show-reads').checked;
  const entries = state.timeline.filter((entry) => showReads || entry.category !== 'access');
  $('#timeline').replaceChildren(...entries.map(timelineItem));
}

$('#show-reads').addEventListener('change', renderTimeline);

function riskLine(risk) {
  if (!risk.effective) return 'Not rated yet.';
  const parts = [`Effective: ${risk.effective}.`];
  if (risk.computed)
    parts.push(
      `Computed: ${risk.computed} (score ${risk.score ?? '—'}, rules ${risk.rules_version ?? '—'}).`,
    );
  const override = risk.override;
  if (override) parts.push(`Overridden to ${override.rating} by ${override.by}: ${override.reason}`);
  return parts.join(' ');
}

function documentRow(doc, names) {
  const next = DOCUMENT_TRANSITIONS[doc.status] ?? [];
  const selectId = `doc-status-${doc.id}`;
  const label = `${doc.document_type} for ${names.get(doc.entity_id) ?? doc.entity_type}`;
  const control =
    next.length === 0
      ? el('span', { className: 'muted' }, 'final')
      : el(
          'form',
          { className: 'action', 'data-document': doc.id },
          el('label', { for: selectId, className: 'visually-hidden' }, `New status of ${label}`),
          el(
            'select',
            { id: selectId, name: 'new_status' },
            next.map((status) => el('option', { value: status }, status)),
          ),
          el('button', { type: 'submit', 'aria-label': `Change status of ${label}` }, 'Change'),
        );
  return el(
    'tr',
    {},
    el('td', {}, doc.document_type),
    el('td', {}, names.get(doc.entity_id) ?? doc.entity_type),
    el('td', {}, badge(doc.status)),
    el('td', {}, control),
  );
}

$('#documents').addEventListener('submit', (event) => {
  const form = event.target.closest('form[data-document]');
  if (!form) return;
  event.preventDefault();
  const newStatus = new FormData(form).get('new_status');
  const documentId = form.dataset.document;
  void attempt(async () => {
    const answer = await api('PUT', `/documents/${encodeURIComponent(documentId)}/status`, {
      new_status: newStatus,
    });
    await openCase(state.caseId, answer.position);
    say(`Document set to ${newStatus}.`);
    // Keep the keyboard where it was: on the same document's control, when it still has one.
    const again = document.getElementById(`doc-status-${documentId}`);
    (again ?? $('#documents-title')).focus();
  });
});

/** `status: UPLOADED → VERIFIED_MANUAL; assignee: rita`, field by field. */
function changeText(before, after) {
  if (!before && !after) return null;
  const text = (value) => (Array.isArray(value) ? value.join(', ') || 'none' : String(value ?? '—'));
  const fields = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  return fields
    .map((field) => {
      const has = (side) => side !== null && side !== undefined && Object.hasOwn(side, field);
      if (has(before) && has(after)) return `${field}: ${text(before[field])} → ${text(after[field])}`;
      return `${field}: ${text((has(after) ? after : before)[field])}`;
    })
    .join('; ');
}

function timelineItem(entry) {
  const change = changeText(entry.before, entry.after);
  const why = [
    entry.reason_codes?.length ? `Reasons: ${entry.reason_codes.join(', ')}` : null,
    entry.why ? `Why: ${entry.why}` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  return el(
    'li',
    { className: entry.category },
    el(
      'div',
      { className: 'when' },
      `${when(entry.at)} · ${entry.actor?.id ?? entry.actor?.type ?? 'unknown'}`,
    ),
    el('div', { className: 'what' }, entry.summary),
    change ? el('div', { className: 'detail' }, change) : null,
    why ? el('div', { className: 'detail' }, why) : null,
    entry.comment ? el('div', { className: 'detail' }, `“${entry.comment}”`) : null,
  );
}

// --- review actions --------------------------------------------------------------------------

async function review(path, body, done) {
  const answer = await api('POST', `/cases/${encodeURIComponent(state.caseId)}/${path}`, body);
  await openCase(state.caseId, answer.position);
  await loadQueue().catch(() => undefined);
  say(done(answer));
}

$('#assign-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const assignee = $('#assignee').value.trim();
  void attempt(() => review('assignment', { assignee }, (a) => `Assigned to ${assignee}; case ${a.status}.`));
});

const selectedDecision = () => new FormData($('#decision-form')).get('decision');

function renderReasonCodes() {
  const decision = selectedDecision();
  const box = $('#reason-codes');
  const legend = el('legend', {}, 'Reason codes');
  if (!decision || !state.reasonCodes) {
    box.replaceChildren(legend, el('p', { className: 'muted' }, 'Choose a decision first.'));
    return;
  }
  const codes = state.reasonCodes.codes.filter((c) => !c.retired && c.actions.includes(decision));
  box.replaceChildren(
    legend,
    el(
      'div',
      { className: 'checks' },
      codes.map((c) => {
        const id = `reason-${c.code}`;
        return el(
          'span',
          {},
          el('input', { type: 'checkbox', id, name: 'reason_codes', value: c.code }),
          el('label', { for: id, title: c.description }, c.code),
        );
      }),
    ),
  );
}

function renderRequestedDocuments() {
  const box = $('#requested-documents');
  const asking = selectedDecision() === 'REQUEST_INFORMATION';
  box.hidden = !asking;
  $('#requested-fields-field').hidden = !asking;
  $('#requested-fields').disabled = !asking;
  box.replaceChildren(
    el('legend', {}, 'Documents to ask for again'),
    el(
      'div',
      { className: 'checks' },
      state.documents.map((doc) => {
        const id = `request-${doc.id}`;
        return el(
          'span',
          {},
          el('input', { type: 'checkbox', id, name: 'requested_documents', value: doc.id }),
          el(
            'label',
            { for: id },
            `${doc.document_type} (${state.names.get(doc.entity_id) ?? doc.entity_type})`,
          ),
        );
      }),
    ),
  );
}

$('#decision-form').addEventListener('change', (event) => {
  if (event.target.name === 'decision') {
    renderReasonCodes();
    renderRequestedDocuments();
  }
});

$('#decision-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData($('#decision-form'));
  const decision = form.get('decision');
  const body = { decision, reason_codes: form.getAll('reason_codes') };
  const comment = String(form.get('comment') ?? '').trim();
  if (comment !== '') body.comment = comment;
  if (decision === 'REQUEST_INFORMATION') {
    body.requested_documents = form.getAll('requested_documents');
    body.requested_fields = String(form.get('requested_fields') ?? '')
      .split(',')
      .map((field) => field.trim())
      .filter((field) => field !== '');
  }
  void attempt(async () => {
    await review('decisions', body, (a) => `Decision ${decision} recorded; case ${a.status}.`);
    $('#decision-form').reset();
    renderReasonCodes();
    renderRequestedDocuments();
  });
});

// --- start -----------------------------------------------------------------------------------

showKeyState();
if (apiKey() !== null) void attempt(loadQueue);
