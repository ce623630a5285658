/*
 * weft-trace svg: the trace as a timeline picture.
 *
 * One row per track — the reactor on top, then each task — time left to right. A task's row is
 * coloured by what it was doing: polled (running), queued, or waiting, with the colour saying
 * for what (readable, writable, timer, another task, ...). Polls last microseconds where waits
 * last milliseconds, so a poll is drawn at least one pixel wide: each green tick is one resume.
 * Hovering a slice in a browser shows its tooltip: duration, reason, and where the task waited.
 */
#include "weft_trace.h"

#include <string.h>

#define LEFT    180.0 /* room for the row labels */
#define WIDTH   960.0 /* the time axis */
#define RIGHT   30.0
#define TOP     46.0
#define ROW_H   14.0
#define ROW_GAP 6.0

static const struct {
    const char *colour;
    const char *label;
} palette[SK_COUNT] = {
    [SK_POLL] = {"#2ca02c", "polled (running)"},
    [SK_READY] = {"#d0d0d0", "queued (ready)"},
    [SK_READ] = {"#1f77b4", "waits: readable"},
    [SK_WRITE] = {"#ff7f0e", "waits: writable"},
    [SK_TIMER] = {"#9467bd", "waits: timer"},
    [SK_JOIN] = {"#bcbd22", "waits: another task"},
    [SK_YIELD] = {"#17becf", "yielded"},
    [SK_OTHER] = {"#8c8c8c", "waits: other"},
    [SK_PARK] = {"#8c564b", "reactor parked in epoll"},
};

void xml_escape(FILE *out, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
            break;
        }
    }
}

struct frame {
    FILE *out;
    double t_min, span_us; /* the time shown */
};

static double x_of(const struct frame *f, double ts)
{
    return LEFT + (ts - f->t_min) / f->span_us * WIDTH;
}

/* "12.5 ms", "800 us", "1.2 s". */
static void put_duration(FILE *out, double us)
{
    if (us >= 1e6)
        fprintf(out, "%.3g s", us / 1e6);
    else if (us >= 1e3)
        fprintf(out, "%.3g ms", us / 1e3);
    else
        fprintf(out, "%.3g us", us);
}

/* A slice's tooltip: what, how long, and for a wait the reason and the site. */
static void put_title(FILE *out, const struct span *s)
{
    fputs("<title>", out);
    xml_escape(out, s->begin->name);
    fputs(", ", out);
    put_duration(out, s->t1 - s->t0);
    const char *keys[] = {"reason", "site", "func", "timeout_ms", "timeout"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = tf_arg(s->begin, keys[i]);
        if (v == NULL) continue;
        fprintf(out, "\n%s: ", keys[i]);
        xml_escape(out, v);
    }
    fputs("</title>", out);
}

static void draw_span(const struct frame *f, const struct span *s, double y)
{
    double x0 = x_of(f, s->t0), w = x_of(f, s->t1) - x0;
    if (s->kind == SK_POLL && w < 1.0) w = 1.0; /* every resume stays visible */
    if (w < 0.2) return;
    fprintf(f->out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\">", x0,
            y, w, ROW_H, palette[s->kind].colour);
    put_title(f->out, s);
    fputs("</rect>\n", f->out);
}

static void draw_row(const struct frame *f, const struct row *r, double y)
{
    fprintf(f->out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", LEFT - 8, y + ROW_H - 3);
    if (r->name != NULL)
        xml_escape(f->out, r->name);
    else
        fprintf(f->out, "tid %ld", r->tid);
    fputs("</text>\n", f->out);
    fprintf(f->out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eeeeee\"/>\n",
            LEFT, LEFT + WIDTH, y + ROW_H / 2, y + ROW_H / 2);
    /* Waits first, polls on top: a poll is the short thing one wants to see. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < r->n; i++)
            if ((r->spans[i].kind == SK_POLL) == (pass == 1)) draw_span(f, &r->spans[i], y);
    if (r->done_ts >= 0) {
        double x = x_of(f, r->done_ts);
        fprintf(f->out,
                "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"black\" "
                "stroke-width=\"1.5\"><title>done: ",
                x, x, y - 2, y + ROW_H + 2);
        xml_escape(f->out, r->result);
        fputs("</title></line>\n", f->out);
    }
}

/*
 * A round tick step giving about eight ticks over span_us: 1, 2 or 5 times a power of ten. The
 * reader keeps times within +-TF_TS_MAX, so a span is at most 2 * TF_TS_MAX = 1.8e16 us and needs
 * a step of at least 2.25e15, which decade 18 gives (5e15). The bound of 24 decades only makes
 * termination visible (a span no step fits would get a single tick).
 */
static double tick_step(double span_us)
{
    double step = 0.001;
    for (int decade = 0; decade < 24; decade++) {
        for (int m = 0; m < 3; m++) {
            double s = step * (m == 0 ? 1 : m == 1 ? 2 : 5);
            if (span_us / s <= 8) return s;
        }
        step *= 10;
    }
    return span_us;
}

static void draw_axis(const struct frame *f, double y)
{
    double step = tick_step(f->span_us);
    fprintf(f->out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
            LEFT, LEFT + WIDTH, y, y);
    for (double t = 0; t <= f->span_us * 1.0001; t += step) {
        double x = x_of(f, f->t_min + t);
        fprintf(f->out,
                "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>"
                "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#f4f4f4\"/>"
                "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">",
                x, x, y, y + 5, x, x, TOP - 4, y, x, y + 17);
        put_duration(f->out, t);
        fputs("</text>\n", f->out);
    }
}

static void draw_legend(const struct frame *f, double y)
{
    double x = LEFT;
    for (int k = 0; k < SK_COUNT; k++) {
        if (x + 170 > LEFT + WIDTH) {
            x = LEFT;
            y += 18;
        }
        fprintf(f->out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                x, y, palette[k].colour, x + 16, y + 10, palette[k].label);
        x += 190;
    }
}

int cmd_svg(const struct tf_trace *t, FILE *out)
{
    struct model m;
    if (model_build(t, &m) < 0) {
        model_free(&m);
        fprintf(stderr, "weft-trace: out of memory\n");
        return 2;
    }
    struct frame f = {out, m.t_min, m.t_max > m.t_min ? m.t_max - m.t_min : 1};
    double rows_h = (double)m.n * (ROW_H + ROW_GAP);
    double height = TOP + rows_h + 80;
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%.1f\" y=\"20\" font-size=\"14\">weft trace: %zu track(s), ",
            LEFT + WIDTH + RIGHT, height, LEFT, m.n);
    put_duration(out, f.span_us);
    fputs("</text>\n", out);
    double axis_y = TOP + rows_h + 4;
    draw_axis(&f, axis_y);
    for (size_t i = 0; i < m.n; i++)
        draw_row(&f, &m.rows[i], TOP + (double)i * (ROW_H + ROW_GAP));
    draw_legend(&f, axis_y + 30);
    fputs("</svg>\n", out);
    model_free(&m);
    return 0;
}
