// The live charts (see live_chart.py): one grid of small uPlot charts (canvas), updated in place with setData.
const FONT = "11px 'Source Sans Pro', sans-serif";
const INK = "#31333F";
const GRID = "rgba(49, 51, 63, 0.08)";
const TITLE_HEIGHT = 20, LEGEND_HEIGHT = 18;
const STYLE = `
.alma-live-chart { overflow: hidden; }
.alma-live .u-title { font: 600 13px 'Source Sans Pro', sans-serif; color: ${INK}; text-align: left; padding-left: 8px;
  height: ${TITLE_HEIGHT}px; line-height: ${TITLE_HEIGHT}px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.alma-live .u-legend { font: 11px 'Source Sans Pro', sans-serif; color: ${INK}; line-height: ${LEGEND_HEIGHT}px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.alma-live .u-legend .u-series { padding: 0 4px; }
.alma-live .u-legend .u-marker { width: 10px; height: 3px; margin-right: 3px; }
.alma-live .u-legend th { font-weight: 400; }
`;
const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

function load(data) {
    window.__almaUPlot ??= new Promise((resolve, reject) => {
        const sheet = document.createElement("link");
        sheet.rel = "stylesheet";
        sheet.href = data.css;
        const style = document.createElement("style");
        style.textContent = STYLE;
        document.head.append(sheet, style);
        const script = document.createElement("script");
        script.src = data.src;
        script.onload = () => resolve(window.uPlot);
        script.onerror = reject;
        document.head.appendChild(script);
    });
    return window.__almaUPlot;
}

function decode(spec) {
    const bytes = Uint8Array.from(atob(spec.bdata), c => c.charCodeAt(0));
    return spec.dtype === "i4" ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

function rgba(hex, opacity) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${opacity})`;
}

// uPlot wants one x array shared by every series: the union of the series' steps, gaps (null) elsewhere.
function aligned(chart) {
    const series = chart.series.map(s => ({ x: decode(s.x), y: decode(s.y) }));
    const steps = Float64Array.from(new Set(series.flatMap(s => Array.from(s.x)))).sort();
    const index = new Map(Array.from(steps, (x, i) => [x, i]));
    const columns = series.map(s => {
        const column = new Array(steps.length).fill(null);
        s.x.forEach((x, i) => {
            const v = s.y[i];
            column[index.get(x)] = Number.isFinite(v) && (!chart.log || v > 0) ? v : null;
        });
        return column;
    });
    return [steps, ...columns];
}

function number(v) {
    if (v === 0) return "0";
    const a = Math.abs(v);
    return a >= 1e4 || a < 1e-3 ? v.toExponential(1).replace("e+", "e") : String(+v.toPrecision(3));
}

function power(v) {
    const e = Math.round(Math.log10(v));
    return "10" + String(e).split("").map(c => SUPERSCRIPT[c]).join("");
}

// Log axes: decades only, as 10ⁿ; within one decade, 1-2-5 values in plain numbers.
function logValues(u, splits) {
    const decades = splits.filter(v => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
    if (decades.length >= 2) return splits.map(v => (decades.includes(v) ? power(v) : ""));
    return splits.map(v => ([1, 2, 5].includes(+(v / 10 ** Math.floor(Math.log10(v) + 1e-9)).toPrecision(1))
        ? number(v) : ""));
}

// Marks drawn on the canvas: bands under the series, lines over them.
function drawBands(u) {
    const { ctx, bbox } = u;
    for (const r of u.marks.rects) {
        const x0 = u.valToPos(r.x0, "x", true), x1 = u.valToPos(r.x1, "x", true);
        ctx.fillStyle = r.color;
        ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
    }
}

function vline(u, x, color, width, dash) {
    const { ctx, bbox } = u, px = Math.round(u.valToPos(x, "x", true));
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = width * devicePixelRatio;
    ctx.setLineDash(dash.map(d => d * devicePixelRatio));
    ctx.beginPath();
    ctx.moveTo(px, bbox.top);
    ctx.lineTo(px, bbox.top + bbox.height);
    ctx.stroke();
    ctx.restore();
}

function drawLines(u) {
    const { ctx, bbox, marks } = u;
    for (const v of marks.vlines) vline(u, v.x, v.color, 1, [4, 3]);
    if (marks.cursor !== null && marks.cursor !== undefined) vline(u, marks.cursor, INK, 1.5, []);
    if (marks.zero) {
        const py = Math.round(u.valToPos(0, "y", true));
        if (py >= bbox.top && py <= bbox.top + bbox.height) {
            ctx.save();
            ctx.strokeStyle = "#d62728";
            ctx.lineWidth = 1.2 * devicePixelRatio;
            ctx.setLineDash([2 * devicePixelRatio, 2 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(bbox.left, py);
            ctx.lineTo(bbox.left + bbox.width, py);
            ctx.stroke();
            ctx.restore();
        }
    }
}

function options(uPlot, chart, data, cell, width, onStep) {
    const axis = { font: FONT, stroke: INK, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } };
    return {
        width, height: data.height - TITLE_HEIGHT - 6 - (data.clickable || chart.legend ? LEGEND_HEIGHT : 0),
        title: chart.title,
        scales: { x: { time: false, auto: false, range: () => [0, cell.xMax] },
                  y: chart.log ? { distr: 3, log: 10 } : { auto: true } },
        axes: [{ ...axis, size: 24 }, { ...axis, size: 50, values: chart.log ? logValues : (u, s) => s.map(number) }],
        series: [{ label: "step", value: (u, v) => (v === null ? "–" : String(v)) }, ...chart.series.map(s => ({
            label: s.name, stroke: rgba(s.color, s.opacity), width: s.width, spanGaps: true,
            value: (u, v) => (v === null ? "–" : number(v)),
            ...(s.mode === "markers"
                ? { paths: () => null, points: { show: true, size: 7, fill: s.color, stroke: s.color } }
                : { points: { show: false } }),
        }))],
        legend: { show: data.clickable || chart.legend, live: data.clickable },
        cursor: data.clickable ? { y: false, points: { show: false }, drag: { x: false, y: false } } : { show: false },
        hooks: {
            drawClear: [drawBands], draw: [drawLines],
            ready: data.clickable ? [u => u.over.addEventListener("click", () => {
                if (u.cursor.left >= 0) onStep(Math.round(u.posToVal(u.cursor.left, "x")));
            })] : [],
        },
    };
}

function draw(uPlot, cell, chart, data, setTriggerValue) {
    const shape = JSON.stringify([chart.title, chart.log, chart.legend, data.clickable, data.height,
        chart.series.map(s => [s.name, s.color, s.mode, s.width, s.opacity])]);
    cell.xMax = data.x_max;
    if (!cell.plot || cell.shape !== shape) {
        cell.plot?.destroy();
        cell.shape = shape;
        const width = Math.max(cell.clientWidth, 200);
        cell.plot = new uPlot(options(uPlot, chart, data, cell, width, step => setTriggerValue("step", step)),
                              [[]], cell);
    }
    cell.plot.marks = { rects: chart.rects, vlines: chart.vlines, zero: chart.zero, cursor: data.cursor };
    cell.plot.setData(aligned(chart));
}

export default function({ parentElement, data, setTriggerValue }) {
    const ready = load(data);
    if (!data.charts.length) return;
    let root = parentElement.querySelector(".alma-live");
    if (!root) {
        root = document.createElement("div");
        root.className = "alma-live";
        root.dataset.steps = "0";
        root.dataset.redraws = "0";
        root.style.display = "grid";
        root.style.gap = "4px";
        parentElement.appendChild(root);
        new ResizeObserver(() => {
            for (const cell of root.children) cell.plot?.setSize({ width: cell.clientWidth, height: cell.plot.height });
        }).observe(root);
    }
    root.style.gridTemplateColumns = `repeat(${data.columns}, minmax(0, 1fr))`;
    while (root.children.length < data.charts.length) {
        const cell = document.createElement("div");
        cell.className = "alma-live-chart";
        cell.style.minWidth = "0";
        cell.style.height = `${data.height}px`;
        root.appendChild(cell);
    }
    ready.then(uPlot => {
        data.charts.forEach((chart, i) => draw(uPlot, root.children[i], chart, data, setTriggerValue));
        root.dataset.steps = String(data.steps);
        root.dataset.redraws = String(Number(root.dataset.redraws) + 1);
    });
}
