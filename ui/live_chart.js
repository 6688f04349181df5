// The live charts (see live_chart.py): one grid of small Plotly charts, updated in place with Plotly.react.
function decode(spec) {
    const bytes = Uint8Array.from(atob(spec.bdata), c => c.charCodeAt(0));
    return spec.dtype === "i4" ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

function figure(chart, data) {
    const traces = chart.series.map(s => ({
        type: "scatter", mode: s.mode, name: s.name, x: decode(s.x), y: decode(s.y), opacity: s.opacity,
        line: { color: s.color, width: s.width }, hoverinfo: "x+y+name", showlegend: s.mode === "lines",
        marker: { symbol: "triangle-up", size: 8, color: s.color },
    }));
    const shapes = chart.vlines.map(v => ({
        type: "line", x0: v.x, x1: v.x, y0: 0, y1: 1, yref: "paper", line: { color: v.color, width: 1, dash: "dash" },
    }));
    for (const r of chart.rects) {
        shapes.push({ type: "rect", x0: r.x0, x1: r.x1, y0: 0, y1: 1, yref: "paper", fillcolor: r.color,
                      line: { width: 0 }, layer: "below" });
    }
    if (data.cursor !== null && data.cursor !== undefined) {
        shapes.push({ type: "line", x0: data.cursor, x1: data.cursor, y0: 0, y1: 1, yref: "paper",
                      line: { color: "#31333F", width: 1.5 } });
    }
    if (chart.zero) {
        shapes.push({ type: "line", x0: 0, x1: 1, xref: "paper", y0: 0, y1: 0,
                      line: { color: "#d62728", width: 1.2, dash: "dot" } });
    }
    const layout = {
        title: { text: chart.title, font: { size: 13 }, x: 0.02 }, height: data.height, showlegend: chart.legend,
        legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 1, xanchor: "right", font: { size: 10 } },
        margin: { l: 50, r: 10, t: 30, b: 28 }, template: "plotly_white", uirevision: "keep",
        font: { family: "Source Sans Pro, sans-serif", color: "#31333F", size: 11 },
        xaxis: { range: [0, data.x_max], automargin: true },
        yaxis: { type: chart.log ? "log" : "linear", exponentformat: "power", minorloglabels: "complete", automargin: true },
        shapes, hovermode: "x unified", paper_bgcolor: "white", plot_bgcolor: "white",
    };
    return [traces, layout];
}

export default function({ parentElement, data, setTriggerValue }) {
    window.__almaPlotly ??= new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = data.src;
        script.onload = () => resolve(window.Plotly);
        script.onerror = reject;
        document.head.appendChild(script);
    });
    if (!data.charts.length) return;
    let root = parentElement.querySelector(".alma-live");
    if (!root) {
        root = document.createElement("div");
        root.className = "alma-live";
        root.dataset.steps = "0";
        root.dataset.redraws = "0";
        parentElement.appendChild(root);
    }
    root.style.display = "grid";
    root.style.gridTemplateColumns = `repeat(${data.columns}, minmax(0, 1fr))`;
    root.style.gap = "4px";
    while (root.children.length < data.charts.length) {
        const cell = document.createElement("div");
        cell.className = "alma-live-chart";
        root.appendChild(cell);
    }
    window.__almaPlotly.then(Plotly => Promise.all(data.charts.map((chart, i) => {
        const [traces, layout] = figure(chart, data);
        const cell = root.children[i];
        return Plotly.react(cell, traces, layout, data.config).then(() => {
            if (data.clickable && !cell.dataset.clicks) {  // a clicked point moves the scrubber to its step
                cell.dataset.clicks = "1";
                cell.on("plotly_click", event => setTriggerValue("step", Math.round(event.points[0].x)));
            }
        });
    }))).then(() => {
        root.dataset.steps = String(data.steps);
        root.dataset.redraws = String(Number(root.dataset.redraws) + 1);
    });
}
