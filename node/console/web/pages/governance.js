// Governance: the current members (Governance.ListMembers) with their roles, signing keys and
// TLS certificate pins, and the governance history (Governance.ListProposals): every membership
// proposal with its decoded action, proposer, votes, status and heights, oldest first (by id),
// a page at a time. Read-only like every page: proposing and voting stay with `tds member`.
import {call} from '../api.js';
import {badge, countLine, el, empty, fmtInt, fmtTime, load, pagedList, short, table} from '../ui.js';

const PAGE_LIMIT = 50;

// PROPOSAL_OPEN → 'open'; the server reports an open proposal past its expiry as EXPIRED.
export function statusBadge(status) {
  const s = String(status || '').replace(/^PROPOSAL_(STATUS_)?/, '');
  const kind = {OPEN: 'info', PASSED: 'good', REJECTED: 'bad', FAILED: 'bad', EXPIRED: 'warn'}[s] ||
      'muted';
  return badge(s.toLowerCase() || 'unknown', kind);
}

function roleBadges(roles) {
  return (roles || []).map((r) => badge(r, 'tag'));
}

// A hex key or fingerprint, shortened; the full value on hover (and in the DOM for copying).
function hexCell(hex, n = 16) {
  return hex ? el('code', {title: hex}, short(hex, n)) : '';
}

// The ProposeBody's oneof action as [kind, readable node]; kind is the proto field name.
function action(body) {
  const b = body || {};
  if (b.add_member) {
    const m = b.add_member;
    return [
      'add_member',
      [
        el('strong', 'Add member'), ' ', el('code', m.id),
        m.name && m.name !== m.id ? ` (${m.name})` : '', ' with roles ', roleBadges(m.roles),
        el('br'), 'key ', hexCell(m.public_key),
        m.tls_cert_sha256 ? [', TLS pin ', hexCell(m.tls_cert_sha256)] : ''
      ],
    ];
  }
  if (b.remove_member) {
    return ['remove_member', [el('strong', 'Remove member'), ' ', el('code', b.remove_member)]];
  }
  if (b.set_roles) {
    const s = b.set_roles;
    return [
      'set_roles',
      [el('strong', 'Set roles'), ' of ', el('code', s.member_id), ' to ', roleBadges(s.roles)],
    ];
  }
  return ['unknown', badge('no action (unknown to this console)', 'warn')];
}

// One vote: who and how, the height it landed at on hover.
function voteBadge(v) {
  return el(
      'span', {
        class: `vote badge badge-${v.approve ? 'good' : 'bad'}`,
        title: `height ${v.height}`,
        dataset: {member: v.member_id, approve: v.approve},
      },
      `${v.member_id} ${v.approve ? 'yes' : 'no'}`);
}

// Who voted how (in vote order), the tally against the 2/3 threshold over the members eligible
// at creation, and, while open, who has not voted yet.
function votes(p) {
  const vs = p.votes || [];
  const eligible = p.eligible || [];
  const yes = vs.filter((v) => v.approve).length;
  const no = vs.length - yes;
  // Passes when approvals * 3 > eligible * 2 (governance/governance.cc).
  const needed = Math.floor((eligible.length * 2) / 3) + 1;
  const voted = new Set(vs.map((v) => v.member_id));
  const waiting = eligible.filter((m) => !voted.has(m));
  return [
    el('div.vote-list', vs.map(voteBadge)),
    el('div.hint.vote-tally',
       `${yes} yes, ${no} no of ${eligible.length} eligible; passes at ${needed} yes`),
    p.status === 'PROPOSAL_OPEN' && waiting.length ?
        el('div.hint.vote-waiting', `not voted: ${waiting.join(', ')}`) :
        null,
  ];
}

export async function render(root, ctx) {
  const membersSec = el('section#governance-members');
  const proposalsSec = el('section#governance-proposals');
  root.append(
      el('h1', 'Governance'),
      el('p.intro',
         'The data space’s members and every membership proposal: a proposal passes when more ' +
             'than 2/3 of the members at its creation approve, and is applied at once.'),
      el('h2', 'Members'), membersSec, el('h2', 'Proposals'), proposalsSec);
  await Promise.all([renderMembers(membersSec, ctx), renderProposals(proposalsSec, ctx)]);
}

async function renderMembers(sec, ctx) {
  const r = await load(ctx, sec, 'Loading the members', () => call('Governance.ListMembers', {}));
  if (!r) return;
  const ms = r.members || [];
  sec.append(countLine('p.summary#governance-members-count', ms.length, 'member'));
  if (!ms.length) {
    sec.append(empty('No members (the node has not applied its genesis block yet).'));
    return;
  }
  sec.append(table(
      [
        {label: 'Id', cell: (m) => el('code', m.id)},
        {label: 'Name', cell: (m) => m.name},
        {label: 'Roles', cell: (m) => roleBadges(m.roles)},
        {label: 'Public key (Ed25519)', cell: (m) => hexCell(m.public_key)},
        {
          label: 'TLS certificate pin (SHA-256)',
          cell: (m) => m.tls_cert_sha256 ? hexCell(m.tls_cert_sha256) :
                                           el('span.hint', 'none (matched by CN)')
        },
      ],
      ms,
      {
        id: 'members-list',
        rowClass: 'member-row',
        rowData: (m) => ({member: m.id, roles: (m.roles || []).join(',')})
      },
      ));
}

async function renderProposals(sec, ctx) {
  const show = (rows, r) =>
      [countLine('p.summary#proposals-count', rows.length, 'proposal', r.next_cursor),
       rows.length ?
           table(
               [
                 {label: '#', cell: (r) => String(r.p.id), class: 'num'},
                 {label: 'Action', cell: (r) => r.action[1], class: 'wrap'},
                 {label: 'Reason', cell: (r) => r.p.body && r.p.body.reason, class: 'wrap'},
                 {label: 'Proposer', cell: (r) => r.p.proposer},
                 {
                   label: 'Status',
                   cell: (r) =>
                       [statusBadge(r.p.status),
                        r.p.outcome ? el('div.hint.proposal-outcome', r.p.outcome) : null]
                 },
                 {label: 'Votes', cell: (r) => votes(r.p), class: 'wrap'},
                 {
                   label: 'Created',
                   cell: (r) =>
                       [`height ${fmtInt(r.p.created_height)}`, el('br'), fmtTime(r.p.created_ms)]
                 },
                 {label: 'Expires at', cell: (r) => fmtInt(r.p.expires_height), class: 'num'},
                 {
                   label: 'Decided at',
                   cell: (r) => (Number(r.p.decided_height) ? fmtInt(r.p.decided_height) : '—'),
                   class: 'num'
                 },
               ],
               rows.map((p) => ({p, action: action(p.body)})),
               {
                 id: 'proposals-list',
                 rowClass: 'proposal-row',
                 rowData: (r) => ({proposal: r.p.id, status: r.p.status, action: r.action[0]})
               },
               ) :
           empty('No proposals yet: the membership is as the genesis file set it.'),
  ];
  await pagedList(ctx, sec, {
    what: 'Loading the proposals',
    fetch: (cursor) => call('Governance.ListProposals', {page: {limit: PAGE_LIMIT, cursor}}),
    items: (r) => r.proposals || [],
    show,
    moreId: 'proposals-more',
  });
}
