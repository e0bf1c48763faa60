// Receipt checker: verifies a receipt in the browser (verify.js) against a genesis file — the
// node's by default (/api/genesis) or one the user uploads, so the verdict need not trust this
// node. The receipt comes from a paste, a file, or the node by transaction id (#/receipt/<txid>,
// /api/receipt). Checks, in order: receipt, envelope, membership, epochs, checkpoint, inclusion;
// each passes, fails, or is not reached after an earlier failure.
import {genesisText, receiptText} from '../api.js';
import {clear, el, errorBanner, facts, fmtInt, loading, sha256Hex, short} from '../ui.js';

const CHECK_TITLES = {
  receipt: 'Receipt well-formed',
  envelope: 'Transaction signature',
  membership: 'Submitter is a member',
  epochs: 'Validator epochs',
  checkpoint: 'Checkpoint signed by a quorum',
  inclusion: 'Included in the log',
};

function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(new Error(`cannot read ${file.name}: ${r.error && r.error.message}`));
    r.readAsText(file);
  });
}

export async function render(root, ctx) {
  const txidArg = (ctx.args[0] || '').toLowerCase();
  const txid = el('input#receipt-txid', {
    type: 'text',
    value: txidArg,
    placeholder: '64 hex characters',
    spellcheck: 'false',
    size: 66
  });
  const fetchBtn = el('button#receipt-fetch', {type: 'button'}, 'Fetch from node');
  const input =
      el('textarea#receipt-input',
         {rows: 12, spellcheck: 'false', placeholder: '{ "version": 1, "txid": "…", … }'});
  const file = el('input#receipt-file', {type: 'file', accept: '.json,application/json'});
  const gNode =
      el('input#genesis-node', {type: 'radio', name: 'genesis', value: 'node', checked: true});
  const gUpload = el('input#genesis-upload', {type: 'radio', name: 'genesis', value: 'upload'});
  const gFile = el('input#genesis-file', {type: 'file', accept: '.json,application/json'});
  const verifyBtn = el('button.primary#receipt-verify', {type: 'button'}, 'Verify');
  const status = el('div#receipt-status');
  const result = el('section#receipt-result');

  root.append(
      el('h1', 'Receipt checker'),
      el(
          'p.intro',
          'A receipt proves one transaction is in the ledger: its signed envelope, a Merkle ' +
              'inclusion proof and a checkpoint signed by a quorum of validators. It is ' +
              'verified here, in your browser, from the genesis file alone.',
          ),
      el(
          'div.receipt-inputs',
          el(
              'section.card',
              el('h2', 'Receipt'),
              el('div.inline', el('label.field', el('span.field-label', 'Transaction id'), txid),
                 fetchBtn),
              el('label.field', el('span.field-label', 'Receipt JSON (paste)'), input),
              el('label.field', el('span.field-label', 'or upload a receipt file'), file),
              ),
          el(
              'section.card',
              el('h2', 'Genesis (the root of trust)'),
              el('label.check-field', gNode, 'the node’s genesis file'),
              el('label.check-field', gUpload, 'my own genesis file: '),
              gFile,
              el('p.hint',
                 'Upload the genesis file you obtained from the consortium to check receipts ' +
                     'without trusting this node.'),
              ),
          ),
      el('div.form-actions', verifyBtn),
      status,
      result,
  );

  let nodeGenesis = null;  // fetched once per visit
  const setStatus = (...nodes) => clear(status).append(...nodes);
  const stale = () => clear(result);

  input.addEventListener('input', stale);
  gFile.addEventListener('change', () => {
    gUpload.checked = true;
    stale();
  });
  gNode.addEventListener('change', stale);
  gUpload.addEventListener('change', stale);
  file.addEventListener('change', async () => {
    if (!file.files.length) return;
    try {
      input.value = await readFile(file.files[0]);
      stale();
      setStatus(el('p.hint', `Loaded ${file.files[0].name}.`));
    } catch (e) {
      setStatus(errorBanner(e));
    }
  });

  const fetchReceipt = async () => {
    const hex = txid.value.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      setStatus(errorBanner({
        message: `a transaction id is 64 hex characters; got ${hex.length ? `'${hex}'` : 'nothing'}`
      }));
      return false;
    }
    setStatus(loading('Fetching the receipt'));
    stale();
    try {
      input.value = await receiptText(hex);
      if (!ctx.alive()) return false;
      setStatus(el('p.hint', `Fetched the receipt of ${short(hex, 16)} from the node.`));
      return true;
    } catch (e) {
      if (ctx.alive()) setStatus(errorBanner(e));
      return false;
    }
  };

  const genesis = async () => {
    if (gUpload.checked) {
      const f = gFile.files[0];
      if (!f) throw new Error('choose the genesis file to upload, or use the node’s');
      const text = await readFile(f);
      return {text, label: `uploaded file ${f.name}`};
    }
    if (nodeGenesis === null) nodeGenesis = await genesisText();
    return {text: nodeGenesis, label: 'the node’s'};
  };

  const verify = async () => {
    stale();
    const receipt = input.value;
    if (!receipt.trim()) {
      setStatus(
          errorBanner({message: 'paste a receipt, upload one, or fetch one by transaction id'}));
      return;
    }
    setStatus(loading('Verifying'));
    verifyBtn.disabled = true;
    try {
      const g = await genesis();
      const {verifyReceipt} = await import('../verify.js');
      const [res, gHash] = await Promise.all([verifyReceipt(receipt, g.text), sha256Hex(g.text)]);
      if (!ctx.alive()) return;
      clear(status);
      showResult(result, res, receipt, `genesis: ${g.label}, sha256 ${gHash}`);
    } catch (e) {
      if (ctx.alive()) setStatus(errorBanner(e));
    } finally {
      verifyBtn.disabled = false;
    }
  };

  fetchBtn.addEventListener('click', async () => {
    if (await fetchReceipt()) await verify();
  });
  verifyBtn.addEventListener('click', verify);

  if (txidArg && (await fetchReceipt())) await verify();
}

function checkState(ok) {
  if (ok === true) return ['pass', 'true'];
  if (ok === false) return ['fail', 'false'];
  return ['not reached', 'null'];
}

// What the receipt claims, for reading (verification uses only the signed bytes).
function claimed(receiptJson) {
  try {
    const j = JSON.parse(receiptJson);
    const t = j.transaction || {};
    return facts([
      ['Type', t.type],
      ['Submitter', t.submitter],
      ['Log index', j.index !== undefined ? fmtInt(j.index) : ''],
      ['Tree size', j.tree_size !== undefined ? fmtInt(j.tree_size) : ''],
      ['Block height', j.height !== undefined ? fmtInt(j.height) : ''],
    ]);
  } catch {
    return null;
  }
}

function showResult(result, res, receiptJson, genesisLabel) {
  const failed = (res.checks || []).filter((c) => c.ok === false).map((c) => c.name);
  result.append(
      el(
          'div#receipt-verdict',
          {
            class: `verdict ${res.ok ? 'verdict-valid' : 'verdict-invalid'}`,
            dataset: {ok: String(!!res.ok), failed: failed.join(',')}
          },
          el('span.verdict-word', res.ok ? 'VALID' : 'INVALID'),
          el('span.verdict-summary#receipt-summary',
             res.summary || (failed.length ? `failed: ${failed.join(', ')}` : '')),
          ),
      el('p#genesis-used.mono-wrap', genesisLabel),
      res.txid ? el('p', 'Transaction id: ', el('code#receipt-txid-shown', res.txid)) : null,
      el(
          'ol#receipt-checks.checks',
          (res.checks || []).map((c) => {
            const [word, data] = checkState(c.ok);
            return el(
                'li.check',
                {dataset: {check: c.name, ok: data}},
                el('span', {class: `check-mark check-${data}`}, word),
                el('span.check-name', CHECK_TITLES[c.name] || c.name, el('code', c.name)),
                el('span.check-detail', c.detail || ''),
            );
          }),
          ),
      el('h2', 'What the receipt says'),
      claimed(receiptJson) || el('p.hint', 'The text is not JSON.'),
  );
}
