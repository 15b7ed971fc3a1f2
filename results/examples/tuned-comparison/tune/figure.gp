# Tune, then test: each method at its chosen eta0
# Written by adamix-run from figure.dat (beside this file). Edit freely, then run
#   gnuplot figure.gp
# in this folder: it writes figure.svg and figure.png (choose with -e "formats='png'").

if (!exists("formats")) formats = 'svg png'
if (!exists("svg_out")) svg_out = 'figure.svg'
if (!exists("png_out")) png_out = 'figure.png'
data = 'figure.dat'

set encoding utf8
set datafile missing '?'
set title 'Tune, then test: each method at its chosen eta0'
set xlabel 'fine-tuning epoch'
set ylabel 'validation reconstruction error (squared error per image)'
set grid xtics ytics mytics back lc rgb '#e0e0e0' lw 1 dt 1, lc rgb '#f0f0f0' lw 1 dt 1
set border 3 lw 1.2 lc rgb '#404040'
set tics nomirror out scale 0.6
set xrange [0:3]
set xtics 1
set mytics 2
set key outside right top vertical Left reverse samplen 3 spacing 1.2 width -2
set style fill transparent solid 0.18 noborder

set linetype 1 lc rgb '#1f77b4' lw 2.2 dt 1 pt 1
set linetype 2 lc rgb '#ff7f0e' lw 2.2 dt (8,4) pt 2
set linetype 3 lc rgb '#2ca02c' lw 2.2 dt (2,3) pt 3
set linetype 4 lc rgb '#d62728' lw 2.2 dt (8,4,2,4) pt 4
set linetype 5 lc rgb '#9467bd' lw 2.2 dt (16,5) pt 5
set linetype 6 lc rgb '#8c564b' lw 2.2 dt (2,6) pt 6
set linetype 7 lc rgb '#e377c2' lw 2.2 dt (8,3,2,3,2,3) pt 7
set linetype 8 lc rgb '#7f7f7f' lw 2.2 dt (16,4,4,4) pt 8
set linetype 9 lc rgb '#bcbd22' lw 2.2 dt (4,4) pt 9
set linetype 10 lc rgb '#17becf' lw 2.2 dt (12,3,2,3,2,3,2,3) pt 10
set linetype 11 lc rgb '#1f77b4' lw 2.2 dt 1 pt 11

do for [fmt in formats] {
    if (fmt eq 'svg') {
        set terminal svg size 917,500 dynamic noenhanced font 'DejaVu Sans,15' background rgb 'white'
        set title font ',20'
        set output svg_out
    } else {
        set terminal pngcairo size 917,500 noenhanced font 'DejaVu Sans,12' background rgb 'white'
        set title font ',16'
        set output png_out
    }
    plot \
        data index 0 using 1:2 with lines lt 1 title 'AdaMix@0.01', \
        data index 1 using 1:2 with lines lt 2 title 'AdaMix@0.03', \
        data index 2 using 1:2 with lines lt 3 title 'AdaMix@0.1', \
        data index 3 using 1:2 with lines lt 4 title 'AdaGrad@0.01', \
        data index 4 using 1:2 with lines lt 5 title 'AdaGrad@0.03', \
        data index 5 using 1:2 with lines lt 6 title 'AdaGrad@0.1', \
        data index 6 using 1:2 with lines lt 7 title 'AdaGrad@0.3', \
        data index 7 using 1:2 with lines lt 8 title 'constant@0.01', \
        data index 8 using 1:2 with lines lt 9 title 'constant@0.03', \
        data index 9 using 1:2 with lines lt 10 title 'constant@0.1', \
        data index 10 using 1:2 with lines lt 11 title 'constant@0.3'
    unset output
}
