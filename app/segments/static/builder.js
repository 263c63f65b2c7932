// The segment builder: edits a rule tree (app/segments/rules.py) in place and asks the server for a live count.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('builder-data').textContent);
  const T = data.text, C = data.choices;
  const root = document.getElementById('rule-tree');
  const form = document.getElementById('segment-form');
  let rule = data.rule;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? '' : v);
    });
    (children || []).forEach(c => c && node.appendChild(c));
    return node;
  }
  let uid = 0;
  const nextId = () => 'rb-' + (++uid);

  function defaultValue(field, op) {
    switch (field) {
      case 'r_score': case 'f_score': case 'm_score': return {min: 4, max: 5};
      case 'order_count': return {days: 90, min: 1};
      case 'order_amount': return {days: 90, min: 100000};
      case 'category': return {days: 90, categories: []};
      case 'last_order': return op === 'before' ? {date: ''} : op === 'never' ? null : {days: 30};
      case 'added': return op === 'between' ? {from: '', to: ''} : {days: 7};
      case 'activity': return {days: 30};
      case 'state': return '';
      case 'lost': return false;
      case 'group': return op === 'in_any' ? [] : null;
      default: return [];
    }
  }
  function newCondition() { return {field: 'tags', operator: 'any', value: []}; }

  // ---- value editors ----
  function labelled(text, input) {
    const id = nextId();
    input.id = id;
    return el('div', {class: 'd-inline-flex align-items-center gap-1 me-2'}, [el('label', {class: 'small text-muted', for: id, text: text}), input]);
  }
  function numberInput(obj, key, attrs, scale) {
    const shown = obj[key] === null || obj[key] === undefined ? '' : (scale ? obj[key] / scale : obj[key]);
    return el('input', Object.assign({type: 'number', class: 'form-control form-control-sm', style: 'width:7rem', value: shown,
      oninput: e => {
        const raw = e.target.value.trim();
        if (raw === '') delete obj[key];
        else obj[key] = scale ? Math.round(parseFloat(raw) * scale) : parseInt(raw, 10);
        changed();
      }}, attrs));
  }
  function daysInput(obj) { return labelled(T.days_label, numberInput(obj, 'days', {min: 1, max: 3650})); }
  function dateInput(obj, key, text) {
    return labelled(text, el('input', {type: 'date', class: 'form-control form-control-sm', value: obj[key] || '',
      oninput: e => { obj[key] = e.target.value; changed(); }}));
  }
  function multiSelect(values, options, onchange, label, groups) {
    const select = el('select', {multiple: true, 'data-chips': true, class: 'form-select form-select-sm', size: 5, 'aria-label': label,
      onchange: e => { onchange(Array.from(e.target.selectedOptions).map(o => o.value)); changed(); }});
    const add = (parent, [value, text]) => parent.appendChild(el('option', {value: value, text: text, selected: values.map(String).includes(String(value))}));
    if (groups) groups.forEach(g => { const og = el('optgroup', {label: g.name}); g.tags.forEach(t => add(og, t)); select.appendChild(og); });
    else options.forEach(o => add(select, o));
    return el('div', {class: 'chips-cell'}, [select]);
  }
  function checkboxes(node, options) {
    return el('div', {class: 'd-flex flex-wrap gap-2', role: 'group'}, options.map(([key, text]) => {
      const id = nextId();
      return el('div', {class: 'form-check form-check-inline m-0'}, [
        el('input', {type: 'checkbox', class: 'form-check-input', id: id, value: key, checked: node.value.includes(key),
          onchange: e => {
            node.value = node.value.filter(v => v !== key);
            if (e.target.checked) node.value.push(key);
            changed();
          }}),
        el('label', {class: 'form-check-label small', for: id, text: text})]);
    }));
  }
  function valueEditor(node) {
    const v = node.value, op = node.operator;
    switch (node.field) {
      case 'tags': return multiSelect(v, null, x => { node.value = x; }, C.fields.tags.label, C.tag_groups);
      case 'rfm_segment': return checkboxes(node, C.segments);
      case 'rfm_class8': return checkboxes(node, C.classes);
      case 'lifecycle_stage': return checkboxes(node, C.stages);
      case 'r_score': case 'f_score': case 'm_score':
        return el('div', {}, [labelled(T.from, numberInput(v, 'min', {min: 1, max: 5})), labelled(T.to, numberInput(v, 'max', {min: 1, max: 5}))]);
      case 'order_count':
        return el('div', {}, [daysInput(v), labelled(T.at_least, numberInput(v, 'min', {min: 0})), labelled(T.at_most, numberInput(v, 'max', {min: 0}))]);
      case 'order_amount':
        return el('div', {}, [daysInput(v), labelled(T.at_least_yuan, numberInput(v, 'min', {min: 0, step: '0.01'}, 100)),
          labelled(T.at_most_yuan, numberInput(v, 'max', {min: 0, step: '0.01'}, 100))]);
      case 'category':
        return el('div', {class: 'd-flex flex-wrap gap-2 align-items-start'}, [daysInput(v), C.categories.length
          ? multiSelect(v.categories, C.categories.map(c => [c, c]), x => { v.categories = x; }, C.fields.category.label)
          : labelled(T.categories_typed, el('input', {class: 'form-control form-control-sm', value: v.categories.join(','),
              oninput: e => { v.categories = e.target.value.split(/[,，]/).map(s => s.trim()).filter(Boolean); changed(); }}))]);
      case 'last_order':
        if (op === 'never') return null;
        return op === 'before' ? dateInput(v, 'date', T.date) : daysInput(v);
      case 'added':
        return op === 'between' ? el('div', {}, [dateInput(v, 'from', T.from), dateInput(v, 'to', T.to)]) : daysInput(v);
      case 'activity': return daysInput(v);
      case 'state':
        return el('input', {class: 'form-control form-control-sm mono', style: 'width:14rem', value: v, 'aria-label': C.fields.state.label,
          oninput: e => { node.value = e.target.value; changed(); }});
      case 'staff': return multiSelect(v, C.staff, x => { node.value = x; }, C.fields.staff.label);
      case 'department': return multiSelect(v, C.departments, x => { node.value = x.map(Number); }, C.fields.department.label);
      case 'group': return op === 'in_any' ? multiSelect(v, C.groups, x => { node.value = x; }, C.fields.group.label) : null;
      case 'lost':
        return el('select', {class: 'form-select form-select-sm w-auto', 'aria-label': C.fields.lost.label,
          onchange: e => { node.value = e.target.value === 'yes'; changed(); }},
          [el('option', {value: 'yes', text: T.lost_yes, selected: v === true}), el('option', {value: 'no', text: T.lost_no, selected: v === false})]);
    }
    return null;
  }

  // ---- tree ----
  function select(options, current, onchange, label, cls) {
    return el('select', {class: 'form-select form-select-sm w-auto ' + (cls || ''), 'aria-label': label, onchange: e => onchange(e.target.value)},
      options.map(([value, text]) => el('option', {value: value, text: text, selected: value === current})));
  }
  function normalize(node) {
    if (!C.fields[node.field]) Object.assign(node, newCondition());
    if (!C.fields[node.field].operators.includes(node.operator)) node.operator = C.fields[node.field].operators[0];
    const d = defaultValue(node.field, node.operator);
    const v = node.value;
    if (d !== null && (v === null || v === undefined || typeof d !== typeof v || Array.isArray(d) !== Array.isArray(v))) node.value = d;
    if (node.field === 'category' && !Array.isArray(node.value.categories)) node.value.categories = [];
  }
  function renderCondition(node, parent, index, path) {
    normalize(node);
    const fields = Object.entries(C.fields).map(([k, f]) => [k, f.label]);
    const ops = C.fields[node.field].operators.map(o => [o, T.operators[node.field + '.' + o] || T.operators[o] || o]);
    return el('div', {class: 'rule-condition d-flex flex-wrap gap-2 align-items-start p-2 border rounded bg-white', 'data-path': path}, [
      select(fields, node.field, value => {
        node.field = value; node.operator = C.fields[value].operators[0]; node.value = defaultValue(value, node.operator); rerender();
      }, T.field_label),
      select(ops, node.operator, value => { node.operator = value; node.value = defaultValue(node.field, value); rerender(); }, T.operator_label),
      el('div', {class: 'flex-grow-1'}, [valueEditor(node)]),
      el('button', {type: 'button', class: 'btn btn-sm btn-outline-danger', text: T.remove, 'aria-label': T.remove_condition,
        onclick: () => { parent.rules.splice(index, 1); rerender(parentOf(path)); }}),
      el('div', {class: 'invalid-feedback w-100 rule-problem'})]);
  }
  function renderGroup(node, parent, index, path) {
    const children = el('div', {class: 'd-flex flex-column gap-2 ps-3 border-start border-2'});
    node.rules.forEach((child, i) => {
      const childPath = path + '.rules[' + i + ']';
      children.appendChild('op' in child ? renderGroup(child, node, i, childPath) : renderCondition(child, node, i, childPath));
    });
    if (!node.rules.length) children.appendChild(el('div', {class: 'small text-muted', text: parent ? T.empty_group : T.empty_root}));
    const header = el('div', {class: 'd-flex flex-wrap gap-2 align-items-center'}, [
      select([['and', T.and], ['or', T.or]], node.op, value => { node.op = value; changed(); }, T.group_label),
      el('button', {type: 'button', class: 'btn btn-sm btn-outline-primary', text: T.add_condition,
        onclick: () => { node.rules.push(newCondition()); rerender(path + '.rules[' + (node.rules.length - 1) + ']'); }}),
      el('button', {type: 'button', class: 'btn btn-sm btn-outline-secondary', text: T.add_group,
        onclick: () => { node.rules.push({op: 'or', rules: [newCondition()]}); rerender(path + '.rules[' + (node.rules.length - 1) + ']'); }}),
      parent ? el('button', {type: 'button', class: 'btn btn-sm btn-outline-danger', text: T.remove_group,
        onclick: () => { parent.rules.splice(index, 1); rerender(parentOf(path)); }}) : null,
      el('div', {class: 'invalid-feedback w-100 rule-problem'})]);
    return el('div', {class: 'rule-group d-flex flex-column gap-2 p-2 rounded ' + (parent ? 'bg-light border' : ''), 'data-path': path}, [header, children]);
  }
  const parentOf = path => path.replace(/\.rules\[\d+\]$/, '');
  function rerender(focusPath) {
    root.replaceChildren(renderGroup(rule, null, 0, '$'));
    if (focusPath) root.querySelector('[data-path="' + focusPath + '"] select, [data-path="' + focusPath + '"] input')?.focus();
    changed();
  }

  // ---- live count ----
  const countEl = document.getElementById('live-count');
  const statusEl = document.getElementById('live-status');
  const sampleBody = document.getElementById('sample-rows');
  let timer = null, seq = 0;
  function changed() {
    document.getElementById('rule-input').value = JSON.stringify(rule);
    clearTimeout(timer);
    statusEl.textContent = T.counting;
    timer = setTimeout(refresh, 400);
  }
  function showProblems(problems) {
    root.querySelectorAll('.is-invalid').forEach(n => n.classList.remove('is-invalid'));
    root.querySelectorAll('.rule-problem').forEach(n => { n.textContent = ''; n.style.display = ''; });
    (problems || []).forEach(p => {
      const nodePath = p.path.replace(/\.value$/, '');
      const target = root.querySelector('[data-path="' + nodePath + '"]');
      const slot = target && target.querySelector(':scope > .rule-problem, :scope > div > .rule-problem');
      if (target) target.classList.add('is-invalid');
      if (slot) { slot.textContent = p.message; slot.style.display = 'block'; }
    });
  }
  async function refresh() {
    const mine = ++seq;
    try {
      const response = await fetch(data.preview_url, {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-CSRFToken': data.csrf}, body: JSON.stringify({rule: rule})});
      if (mine !== seq) return;
      if (!response.ok) throw new Error(response.status);
      const answer = await response.json();
      if (mine !== seq) return;
      showProblems(answer.problems);
      if (!answer.ok) { countEl.textContent = '—'; statusEl.textContent = T.fix_problems; sampleBody.replaceChildren(); return; }
      countEl.textContent = answer.count.toLocaleString();
      statusEl.textContent = answer.count ? T.sample_note : T.no_members;
      sampleBody.replaceChildren(...answer.sample.map(row => el('tr', {}, [
        el('td', {}, [el('a', {href: data.customer_url.replace('__EXT__', encodeURIComponent(row.external_userid)), text: row.name})]),
        el('td', {text: row.corp_name}), el('td', {text: row.staff.join('、')}),
        el('td', {class: 'mono small', text: row.mobiles.join(' ')}), el('td', {class: 'small', text: row.tags.join('、')}),
        el('td', {class: 'small', text: row.segment || ''}), el('td', {class: 'small text-danger', text: row.lost_at})])));
    } catch (err) {
      if (mine === seq) statusEl.textContent = T.failed;
    }
  }
  form.addEventListener('submit', () => { document.getElementById('rule-input').value = JSON.stringify(rule); });
  rerender();
  showProblems(data.problems);
})();
