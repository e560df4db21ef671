/**
 * A small canvas line chart for the last minutes of a few series: no library, no
 * network. Redrawn whole each second (300 points per series is nothing to draw).
 */
export interface Series {
  label: string;
  color: string;
  values: (number | undefined)[];
}

/** `slots`: points the x axis holds (one a second); fewer values are drawn right-aligned, ending at "now". */
export function drawLineChart(canvas: HTMLCanvasElement, series: Series[], unit = '', slots = 60): void {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const g = canvas.getContext('2d');
  if (!g) return;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const pad = { left: 40, right: 8, top: 8, bottom: 18 };
  const points = Math.max(2, slots, ...series.map((s) => s.values.length));
  const max = niceMax(
    Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== undefined))),
  );
  const x = (i: number) => pad.left + (i / (points - 1)) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);

  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#7a8394';
  g.strokeStyle = '#e3e6eb';
  g.lineWidth = 1;
  for (const fraction of [0, 0.5, 1]) {
    const value = max * fraction;
    g.beginPath();
    g.moveTo(pad.left, y(value));
    g.lineTo(width - pad.right, y(value));
    g.stroke();
    g.fillText(`${format(value)}${unit}`, 2, y(value) + 4);
  }
  g.fillText(`${points} s ago`, pad.left, height - 4);
  g.fillText('now', width - pad.right - 22, height - 4);

  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = 2;
    g.beginPath();
    let drawing = false;
    const offset = points - s.values.length;
    s.values.forEach((v, i) => {
      if (v === undefined) {
        drawing = false;
        return;
      }
      if (drawing) g.lineTo(x(i + offset), y(v));
      else g.moveTo(x(i + offset), y(v));
      drawing = true;
    });
    g.stroke();
  }
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

function format(value: number): string {
  return value >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
}
