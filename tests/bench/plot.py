#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Plots of one `make bench` run, drawn with gnuplot from bench.json.

usage: plot.py BENCH_JSON OUTDIR

Writes into OUTDIR, each with its data (.dat) and gnuplot script (.gp) beside
it so a plot can be redrawn or restyled by hand:
  throughput.png       median and best MB/s per case against the memcpy
                       yardstick and, for the file and TCP rows, their raw path
  parallel.png         several devices with one lane and with --parallel auto
  sweep-pending.png    pending bytes at each pre-copy query, one run per dirty rate
  sweep-downtime.png   measured and expected downtime against dirty rate, the
                       limit, and how many runs converged
A section bench.json does not have is skipped with a note.  Exits non-zero
only when gnuplot fails (or bench.json cannot be read).
"""
import json
import os
import subprocess
import sys

MIB = 1 << 20
# The rates whose pending curves are drawn (as fractions of the bandwidth).
PENDING_RATES = (0.0, 0.25, 0.5, 0.6, 0.75, 1.0)


def gnuplot(outdir, name, script):
    gp = os.path.join(outdir, name + '.gp')
    with open(gp, 'w') as f:
        f.write('set terminal pngcairo size 900,540 font ",10"\n')
        f.write('set output "%s.png"\n' % name)
        f.write(script)
    # Relative names inside the script: run it from outdir.
    subprocess.run(['gnuplot', name + '.gp'], cwd=outdir, check=True)
    print('plot: %s' % os.path.join(outdir, name + '.png'))


# Clustered bars of MB/s, one cluster per data row.
HISTOGRAM = '''
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "MB/s"
set yrange [0:*]
set key top right
'''


def write_dat(outdir, name, header, rows):
    with open(os.path.join(outdir, name), 'w') as f:
        f.write('# ' + header + '\n')
        for r in rows:
            f.write(' '.join(str(v) for v in r) + '\n')


def plot_throughput(d, outdir):
    cases = d.get('cases') or []
    if not cases:
        print('plot: no cases in bench.json, no throughput plot')
        return
    memcpy = d['memcpy']['median-mbps']
    rows = []
    for c in cases:
        label = '%s-%dM' % (c['case'], c['state-bytes'] // MIB)
        raw = c.get('raw-median-mbps', '-')
        rows.append(('"%s"' % label, c['median-mbps'], c['mbps'], raw))
    write_dat(outdir, 'throughput.dat', 'case median-mbps best-mbps raw-median-mbps', rows)
    gnuplot(outdir, 'throughput', '''
set title "vfmig throughput per case (Linux %s, %d CPUs; MB = 10^6 B)"
%s
set xtics rotate by -40 scale 0
set datafile missing "-"
plot "throughput.dat" using 2:xtic(1) title "median", \\
     "" using 3 title "best", \\
     "" using 4 title "raw path (median)", \\
     %s with lines lw 2 dt 2 title "memcpy (median, %.0f MB/s)"
''' % (d.get('kernel', '?'), d.get('cpus', 0), HISTOGRAM, memcpy, memcpy))


def plot_parallel(d, outdir):
    par = d.get('parallel') or []
    if not par:
        print('plot: no parallel rows in bench.json, no parallel plot')
        return
    rows = [('"%s %dx%dM"' % (r['how'], r['devices'], r['device-mib']),
             r['serial']['median-mbps'], r['parallel']['median-mbps']) for r in par]
    write_dat(outdir, 'parallel.dat', 'case lanes-1-median-mbps lanes-auto-median-mbps', rows)
    top = max(max(r[1], r[2]) for r in rows)
    gnuplot(outdir, 'parallel', '''
set title "several devices in one migration: one lane against %d lanes (median MB/s)"
%s
set yrange [0:%d]
set xtics rotate by -25
set bmargin 5
set key top left
plot "parallel.dat" using 2:xtic(1) title "--parallel 1", "" using 3 title "--parallel auto"
''' % (par[0]['parallel']['lanes'], HISTOGRAM, int(top * 1.2) + 1))


def plot_sweep(d, outdir):
    sweep = d.get('downtime-sweep') or []
    if not sweep:
        print('plot: no downtime sweep in bench.json, no sweep plots')
        return
    limit = sweep[0]['downtime-limit-ms']
    bw = sweep[0]['bandwidth']
    threshold = bw * limit / 1000.0 / MIB

    # Pending per query: the first run of a few rates.
    curves = []
    for s in sweep:
        if s['rate-x-bandwidth'] in PENDING_RATES and s.get('pending'):
            curves.append(s)
    plots = []
    for s in curves:
        name = 'sweep-pending-%s.dat' % s['rate-x-bandwidth']
        write_dat(outdir, name, 'query pending-MiB',
                  [(i, '%.3f' % (p / MIB)) for i, p in enumerate(s['pending'][0])])
        plots.append('"%s" using 1:2 with linespoints pt 7 ps 0.5 title "%sx"' %
                     (name, s['rate-x-bandwidth']))
    if plots:
        plots.append('%f with lines lw 2 dt 2 lc rgb "black" title "threshold (%.1f MiB)"' %
                     (threshold, threshold))
        gnuplot(outdir, 'sweep-pending', '''
set title "pending device state per pre-copy query (%d MiB state, %d MiB/s, limit %d ms)"
set xlabel "pre-copy query (one per 100 ms round)"
set ylabel "pending MiB"
set yrange [0:*]
set key outside right title "dirty rate / bandwidth"
plot %s
''' % (sweep[0].get('state-mib', 0), bw // MIB, limit, ', \\\n     '.join(plots)))

    # Downtime against rate: every measured run, the medians, the limit.
    pts, med = [], []
    for s in sweep:
        x = s['rate-x-bandwidth']
        for m, e in zip(s['downtime-ms'], s['expected-downtime-ms']):
            pts.append((x, m, e))
        down = sorted(s['downtime-ms'])
        exp = sorted(s['expected-downtime-ms'])
        mid = lambda v: v[(len(v) - 1) // 2] if v else '-'
        med.append((x, mid(down), mid(exp), s['converged'], s['runs']))
    labels = ''.join('set label "did not converge (%d/%d)" at %s,%d rotate by 90 front\n' %
                     (s['runs'] - s['converged'], s['runs'], s['rate-x-bandwidth'] + 0.025, limit // 10)
                     for s in sweep if s['converged'] < s['runs'])
    write_dat(outdir, 'sweep-runs.dat', 'rate measured-ms expected-ms', pts)
    write_dat(outdir, 'sweep-median.dat',
              'rate median-measured-ms median-expected-ms converged runs', med)
    gnuplot(outdir, 'sweep-downtime', '''
set title "downtime against dirty rate (%d MiB/s, limit %d ms; runs that did not converge have no point)"
set xlabel "dirty rate / bandwidth"
set ylabel "downtime (ms)"
set y2label "runs converged"
set yrange [0:%d]
set y2range [0:%d]
set ytics nomirror
set y2tics 1
set boxwidth 0.04
set xrange [-0.05:1.05]
%sset datafile missing "-"
set key outside bottom horizontal
plot "sweep-runs.dat" using 1:2 with points pt 7 ps 0.6 title "measured (each run)", \\
     "sweep-median.dat" using 1:2 with linespoints lw 2 title "measured (median)", \\
     "sweep-median.dat" using 1:3 with linespoints lw 2 dt 3 title "expected (median)", \\
     "sweep-median.dat" using 1:4 axes x1y2 with boxes fs transparent solid 0.15 title "converged", \\
     %d with lines lw 2 dt 2 lc rgb "red" title "limit"
''' % (bw // MIB, limit, limit * 3 // 2, max(s['runs'] for s in sweep) * 3 // 2 + 1, labels, limit))


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: plot.py BENCH_JSON OUTDIR')
    with open(sys.argv[1]) as f:
        d = json.load(f)
    os.makedirs(sys.argv[2], exist_ok=True)
    plot_throughput(d, sys.argv[2])
    plot_parallel(d, sys.argv[2])
    plot_sweep(d, sys.argv[2])


if __name__ == '__main__':
    main()
