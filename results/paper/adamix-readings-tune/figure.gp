# AdaMix readings on full MNIST: validation error by eta0 (window, K)
# Written by adamix-run from figure.dat (beside this file). Edit freely, then run
#   gnuplot figure.gp
# in this folder: it writes figure.svg and figure.png (choose with -e "formats='png'").

if (!exists("formats")) formats = 'svg png'
if (!exists("svg_out")) svg_out = 'figure.svg'
if (!exists("png_out")) png_out = 'figure.png'
data = 'figure.dat'

set encoding utf8
set datafile missing '?'
set title 'AdaMix readings on full MNIST: validation error by eta0 (window, K)'
set xlabel 'fine-tuning epoch'
set ylabel 'validation reconstruction error (squared error per image)'
set grid xtics ytics mytics back lc rgb '#e0e0e0' lw 1 dt 1, lc rgb '#f0f0f0' lw 1 dt 1
set border 3 lw 1.2 lc rgb '#404040'
set tics nomirror out scale 0.6
set xrange [0:8]
set xtics 1
set logscale y
set mytics 10
# the data's range plus a margin, rather than whole decades
set autoscale yfix
set offsets 0, 0, graph 0.05, graph 0.05
# the range of the lines without a diverged run (the others leave the plot); comment out to see them whole
set yrange [3.291:14.64]
set ytics (1, 2, 5, 10, 20, 50, 100, 200, 500)
set key outside right top vertical Left reverse samplen 3 spacing 1.2 width -19
set style fill transparent solid 0.18 noborder

# colour: the series value; dash pattern: the other sweep values
set linetype 1 lc rgb '#1f77b4' lw 2.2 dt 1 pt 1
set linetype 2 lc rgb '#ff7f0e' lw 2.2 dt (8,4) pt 2
set linetype 3 lc rgb '#2ca02c' lw 2.2 dt (2,3) pt 3
set linetype 4 lc rgb '#d62728' lw 2.2 dt (8,4,2,4) pt 4
set linetype 5 lc rgb '#9467bd' lw 2.2 dt (16,5) pt 5
set linetype 6 lc rgb '#8c564b' lw 2.2 dt (2,6) pt 6
set linetype 7 lc rgb '#e377c2' lw 2.2 dt (8,3,2,3,2,3) pt 7
set linetype 8 lc rgb '#7f7f7f' lw 2.2 dt (16,4,4,4) pt 8
set linetype 9 lc rgb '#1f77b4' lw 2.2 dt (4,4) pt 9
set linetype 10 lc rgb '#ff7f0e' lw 2.2 dt (12,3,2,3,2,3,2,3) pt 10
set linetype 11 lc rgb '#2ca02c' lw 2.2 dt 1 pt 11
set linetype 12 lc rgb '#d62728' lw 2.2 dt (8,4) pt 12
set linetype 13 lc rgb '#9467bd' lw 2.2 dt (2,3) pt 13
set linetype 14 lc rgb '#8c564b' lw 2.2 dt (8,4,2,4) pt 1
set linetype 15 lc rgb '#e377c2' lw 2.2 dt (16,5) pt 2
set linetype 16 lc rgb '#7f7f7f' lw 2.2 dt (2,6) pt 3
set linetype 17 lc rgb '#1f77b4' lw 2.2 dt (8,3,2,3,2,3) pt 4
set linetype 18 lc rgb '#ff7f0e' lw 2.2 dt (16,4,4,4) pt 5
set linetype 19 lc rgb '#2ca02c' lw 2.2 dt (4,4) pt 6
set linetype 20 lc rgb '#d62728' lw 2.2 dt (12,3,2,3,2,3,2,3) pt 7
set linetype 21 lc rgb '#9467bd' lw 2.2 dt 1 pt 8
set linetype 22 lc rgb '#8c564b' lw 2.2 dt (8,4) pt 9
set linetype 23 lc rgb '#e377c2' lw 2.2 dt (2,3) pt 10
set linetype 24 lc rgb '#7f7f7f' lw 2.2 dt (8,4,2,4) pt 11
set linetype 25 lc rgb '#1f77b4' lw 2.2 dt (16,5) pt 12
set linetype 26 lc rgb '#ff7f0e' lw 2.2 dt (2,6) pt 13
set linetype 27 lc rgb '#2ca02c' lw 2.2 dt (8,3,2,3,2,3) pt 1
set linetype 28 lc rgb '#d62728' lw 2.2 dt (16,4,4,4) pt 2
set linetype 29 lc rgb '#9467bd' lw 2.2 dt (4,4) pt 3
set linetype 30 lc rgb '#8c564b' lw 2.2 dt (12,3,2,3,2,3,2,3) pt 4
set linetype 31 lc rgb '#e377c2' lw 2.2 dt 1 pt 5
set linetype 32 lc rgb '#7f7f7f' lw 2.2 dt (8,4) pt 6
set linetype 33 lc rgb '#1f77b4' lw 2.2 dt (2,3) pt 7
set linetype 34 lc rgb '#ff7f0e' lw 2.2 dt (8,4,2,4) pt 8
set linetype 35 lc rgb '#2ca02c' lw 2.2 dt (16,5) pt 9
set linetype 36 lc rgb '#d62728' lw 2.2 dt (2,6) pt 10
set linetype 37 lc rgb '#9467bd' lw 2.2 dt (8,3,2,3,2,3) pt 11
set linetype 38 lc rgb '#8c564b' lw 2.2 dt (16,4,4,4) pt 12
set linetype 39 lc rgb '#e377c2' lw 2.2 dt (4,4) pt 13
set linetype 40 lc rgb '#7f7f7f' lw 2.2 dt (12,3,2,3,2,3,2,3) pt 1
set linetype 41 lc rgb '#1f77b4' lw 2.2 dt 1 pt 2
set linetype 42 lc rgb '#ff7f0e' lw 2.2 dt (8,4) pt 3
set linetype 43 lc rgb '#2ca02c' lw 2.2 dt (2,3) pt 4
set linetype 44 lc rgb '#d62728' lw 2.2 dt (8,4,2,4) pt 5
set linetype 45 lc rgb '#9467bd' lw 2.2 dt (16,5) pt 6
set linetype 46 lc rgb '#8c564b' lw 2.2 dt (2,6) pt 7
set linetype 47 lc rgb '#e377c2' lw 2.2 dt (8,3,2,3,2,3) pt 8
set linetype 48 lc rgb '#7f7f7f' lw 2.2 dt (16,4,4,4) pt 9
set linetype 49 lc rgb '#1f77b4' lw 2.2 dt (4,4) pt 10
set linetype 50 lc rgb '#ff7f0e' lw 2.2 dt (12,3,2,3,2,3,2,3) pt 11
set linetype 51 lc rgb '#2ca02c' lw 2.2 dt 1 pt 12
set linetype 52 lc rgb '#d62728' lw 2.2 dt (8,4) pt 13
set linetype 53 lc rgb '#9467bd' lw 2.2 dt (2,3) pt 1
set linetype 54 lc rgb '#8c564b' lw 2.2 dt (8,4,2,4) pt 2
set linetype 55 lc rgb '#e377c2' lw 2.2 dt (16,5) pt 3
set linetype 56 lc rgb '#7f7f7f' lw 2.2 dt (2,6) pt 4
set linetype 57 lc rgb '#1f77b4' lw 2.2 dt (8,3,2,3,2,3) pt 5
set linetype 58 lc rgb '#ff7f0e' lw 2.2 dt (16,4,4,4) pt 6
set linetype 59 lc rgb '#2ca02c' lw 2.2 dt (4,4) pt 7
set linetype 60 lc rgb '#d62728' lw 2.2 dt (12,3,2,3,2,3,2,3) pt 8
set linetype 61 lc rgb '#9467bd' lw 2.2 dt 1 pt 9
set linetype 62 lc rgb '#8c564b' lw 2.2 dt (8,4) pt 10
set linetype 63 lc rgb '#e377c2' lw 2.2 dt (2,3) pt 11
set linetype 64 lc rgb '#7f7f7f' lw 2.2 dt (8,4,2,4) pt 12

do for [fmt in formats] {
    if (fmt eq 'svg') {
        set terminal svg size 1853,500 dynamic noenhanced font 'DejaVu Sans,15' background rgb 'white'
        set title font ',20'
        set output svg_out
    } else {
        set terminal pngcairo size 1853,500 noenhanced font 'DejaVu Sans,12' background rgb 'white'
        set title font ',16'
        set output png_out
    }
    plot \
        data index 0 using 1:2 with lines lt 1 title '0.0001, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.0001', \
        data index 1 using 1:2 with lines lt 2 title '0.0003, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.0003', \
        data index 2 using 1:2 with lines lt 3 title '0.001, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.001', \
        data index 3 using 1:2 with lines lt 4 title '0.003, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.003', \
        data index 4 using 1:2 with lines lt 5 title '0.01, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.01 (diverged)', \
        data index 5 using 1:2 with lines lt 6 title '0.03, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.03 (diverged)', \
        data index 6 using 1:2 with lines lt 7 title '0.1, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.1 (diverged)', \
        data index 7 using 1:2 with lines lt 8 title '0.3, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.3 (diverged)', \
        data index 8 using 1:2 with lines lt 9 title '0.0001, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.0001', \
        data index 9 using 1:2 with lines lt 10 title '0.0003, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.0003', \
        data index 10 using 1:2 with lines lt 11 title '0.001, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.001', \
        data index 11 using 1:2 with lines lt 12 title '0.003, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.003', \
        data index 12 using 1:2 with lines lt 13 title '0.01, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.01', \
        data index 13 using 1:2 with lines lt 14 title '0.03, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.03 (diverged)', \
        data index 14 using 1:2 with lines lt 15 title '0.1, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.1 (diverged)', \
        data index 15 using 1:2 with lines lt 16 title '0.3, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.3 (diverged)', \
        data index 16 using 1:2 with lines lt 17 title '0.0001, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.0001', \
        data index 17 using 1:2 with lines lt 18 title '0.0003, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.0003', \
        data index 18 using 1:2 with lines lt 19 title '0.001, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.001', \
        data index 19 using 1:2 with lines lt 20 title '0.003, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.003', \
        data index 20 using 1:2 with lines lt 21 title '0.01, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.01', \
        data index 21 using 1:2 with lines lt 22 title '0.03, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.03', \
        data index 22 using 1:2 with lines lt 23 title '0.1, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.1 (diverged)', \
        data index 23 using 1:2 with lines lt 24 title '0.3, finetune.rules.weights.window=step, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.3 (diverged)', \
        data index 24 using 1:2 with lines lt 25 title '0.0001, finetune.rules.weights.window=step, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.0001', \
        data index 25 using 1:2 with lines lt 26 title '0.0003, finetune.rules.weights.window=step, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.0003', \
        data index 26 using 1:2 with lines lt 27 title '0.001, finetune.rules.weights.window=step, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.001', \
        data index 27 using 1:2 with lines lt 28 title '0.003, finetune.rules.weights.window=step, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.003', \
        data index 28 using 1:2 with lines lt 29 title '0.01, finetune.rules.weights.window=step, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.01', \
        data index 29 using 1:2 with lines lt 30 title '0.03, finetune.rules.weights.window=step, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.03', \
        data index 30 using 1:2 with lines lt 31 title '0.1, finetune.rules.weights.window=step, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.1', \
        data index 31 using 1:2 with lines lt 32 title '0.3, finetune.rules.weights.window=step, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.3 (diverged)', \
        data index 32 using 1:2 with lines lt 33 title '0.0001, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.0001', \
        data index 33 using 1:2 with lines lt 34 title '0.0003, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.0003', \
        data index 34 using 1:2 with lines lt 35 title '0.001, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.001', \
        data index 35 using 1:2 with lines lt 36 title '0.003, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.003', \
        data index 36 using 1:2 with lines lt 37 title '0.01, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.01', \
        data index 37 using 1:2 with lines lt 38 title '0.03, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.03', \
        data index 38 using 1:2 with lines lt 39 title '0.1, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.1 (diverged)', \
        data index 39 using 1:2 with lines lt 40 title '0.3, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-8, finetune.rules.biases.eta0=0.3 (diverged)', \
        data index 40 using 1:2 with lines lt 41 title '0.0001, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.0001', \
        data index 41 using 1:2 with lines lt 42 title '0.0003, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.0003', \
        data index 42 using 1:2 with lines lt 43 title '0.001, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.001', \
        data index 43 using 1:2 with lines lt 44 title '0.003, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.003', \
        data index 44 using 1:2 with lines lt 45 title '0.01, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.01', \
        data index 45 using 1:2 with lines lt 46 title '0.03, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.03', \
        data index 46 using 1:2 with lines lt 47 title '0.1, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.1 (diverged)', \
        data index 47 using 1:2 with lines lt 48 title '0.3, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-4, finetune.rules.biases.eta0=0.3 (diverged)', \
        data index 48 using 1:2 with lines lt 49 title '0.0001, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.0001', \
        data index 49 using 1:2 with lines lt 50 title '0.0003, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.0003', \
        data index 50 using 1:2 with lines lt 51 title '0.001, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.001', \
        data index 51 using 1:2 with lines lt 52 title '0.003, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.003', \
        data index 52 using 1:2 with lines lt 53 title '0.01, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.01', \
        data index 53 using 1:2 with lines lt 54 title '0.03, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.03', \
        data index 54 using 1:2 with lines lt 55 title '0.1, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.1', \
        data index 55 using 1:2 with lines lt 56 title '0.3, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1.0e-2, finetune.rules.biases.eta0=0.3 (diverged)', \
        data index 56 using 1:2 with lines lt 57 title '0.0001, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.0001', \
        data index 57 using 1:2 with lines lt 58 title '0.0003, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.0003', \
        data index 58 using 1:2 with lines lt 59 title '0.001, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.001', \
        data index 59 using 1:2 with lines lt 60 title '0.003, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.003', \
        data index 60 using 1:2 with lines lt 61 title '0.01, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.01', \
        data index 61 using 1:2 with lines lt 62 title '0.03, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.03', \
        data index 62 using 1:2 with lines lt 63 title '0.1, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.1', \
        data index 63 using 1:2 with lines lt 64 title '0.3, finetune.rules.weights.window=epoch, finetune.rules.weights.K=1, finetune.rules.biases.eta0=0.3'
    unset output
}
