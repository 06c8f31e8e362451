// SVG charts drawn from plain numbers: a line chart and a model's lineage graph.

const SVG = 'http://www.w3.org/2000/svg';

function element(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A line chart of `points` (`[x, y]`, x ascending) with axis labels; `id` names it for tests,
 * and each point is a circle carrying its values in `data-x`/`data-y`.
 */
export function lineChart(id, points, { xLabel, yLabel, yFormat = String, width = 460, height = 220 } = {}) {
  const svg = element('svg', { width, height, 'data-chart': id, viewBox: `0 0 ${width} ${height}` });
  const [left, right, top, bottom] = [52, 12, 26, 30];
  if (points.length === 0) {
    svg.append(element('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no data yet'));
    return svg;
  }
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = [Math.min(0, ...ys), Math.max(...ys) || 1];
  const sx = (x) => left + ((x - xMin) / (xMax - xMin || 1)) * (width - left - right);
  const sy = (y) => height - bottom - ((y - yMin) / (yMax - yMin || 1)) * (height - top - bottom);
  svg.append(
    element('line', { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, stroke: '#aab' }),
    element('line', { x1: left, y1: top, x2: left, y2: height - bottom, stroke: '#aab' }),
    element('text', { x: left - 4, y: sy(yMax) + 4, 'text-anchor': 'end' }, yFormat(yMax)),
    element('text', { x: left - 4, y: sy(yMin), 'text-anchor': 'end' }, yFormat(yMin)),
    element('text', { x: left, y: height - 8 }, `${xMin}`),
    element('text', { x: width - right, y: height - 8, 'text-anchor': 'end' }, `${xMax}`),
    element('text', { x: (left + width) / 2, y: height - 8, 'text-anchor': 'middle' }, xLabel ?? ''),
    element('text', { x: 4, y: 12 }, yLabel ?? ''),
    element('polyline', {
      points: points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' '), fill: 'none', stroke: '#3b5bdb', 'stroke-width': 2,
    }),
  );
  for (const [x, y] of points) {
    svg.append(element('circle', { cx: sx(x), cy: sy(y), r: 2.5, fill: '#3b5bdb', 'data-x': x, 'data-y': y }));
  }
  return svg;
}

/**
 * A model's versions as a graph: each version a circle at its depth in the lineage, an edge
 * from its parent, the current version filled. `versions` is `[{ index, parent, current }]`.
 */
export function lineageGraph(model, versions) {
  const depth = new Map();
  const depthOf = (version) => {
    if (!depth.has(version.index)) {
      const parent = versions.find(({ index }) => index === version.parent);
      depth.set(version.index, parent ? depthOf(parent) + 1 : 0);
    }
    return depth.get(version.index);
  };
  const rows = new Map();
  const place = new Map(versions.map((version) => {
    const level = depthOf(version);
    const row = rows.get(level) ?? 0;
    rows.set(level, row + 1);
    return [version.index, { x: 30 + level * 80, y: 30 + row * 50 }];
  }));
  const width = 60 + Math.max(...[...depth.values()], 0) * 80;
  const height = 30 + Math.max(...rows.values(), 1) * 50;
  const svg = element('svg', { width, height, 'data-lineage': model });
  for (const version of versions) {
    const parent = place.get(version.parent);
    if (parent) {
      const child = place.get(version.index);
      svg.append(element('line', { x1: parent.x, y1: parent.y, x2: child.x, y2: child.y, stroke: '#aab', 'stroke-width': 2 }));
    }
  }
  for (const version of versions) {
    const { x, y } = place.get(version.index);
    svg.append(
      element('circle', {
        cx: x, cy: y, r: 14, fill: version.current ? '#3b5bdb' : '#fff', stroke: '#3b5bdb', 'stroke-width': 2,
        'data-version': version.index,
      }),
      element('text', { x, y: y + 4, 'text-anchor': 'middle', style: `fill:${version.current ? '#fff' : '#1d2433'}` }, `v${version.index}`),
    );
  }
  return svg;
}
