# bf16 against fp32 products: AdaMix and AdaGrad on full MNIST
# Written by adamix-run from figure.dat (beside this file). Edit freely, then run
#   gnuplot figure.gp
# in this folder: it writes figure.svg and figure.png (choose with -e "formats='png'").

if (!exists("formats")) formats = 'svg png'
if (!exists("svg_out")) svg_out = 'figure.svg'
if (!exists("png_out")) png_out = 'figure.png'
data = 'figure.dat'

set encoding utf8
set datafile missing '?'
set title 'bf16 against fp32 products: AdaMix and AdaGrad on full MNIST'."\n".'with sweep.compute.precision=[fp32], repeats=1'
set xlabel 'fine-tuning epoch'
set ylabel 'test reconstruction error (squared error per image)'
set grid xtics ytics mytics back lc rgb '#e0e0e0' lw 1 dt 1, lc rgb '#f0f0f0' lw 1 dt 1
set border 3 lw 1.2 lc rgb '#404040'
set tics nomirror out scale 0.6
set xrange [0:20]
set mytics 2
set key inside right top vertical Left reverse samplen 3 spacing 1.2 opaque box lc rgb '#c0c0c0'
set style fill transparent solid 0.18 noborder

set linetype 1 lc rgb '#1f77b4' lw 2.2 dt 1 pt 1
set linetype 2 lc rgb '#ff7f0e' lw 2.2 dt (8,4) pt 2

do for [fmt in formats] {
    if (fmt eq 'svg') {
        set terminal svg size 800,500 dynamic noenhanced font 'DejaVu Sans,15' background rgb 'white'
        set title font ',20'
        set output svg_out
    } else {
        set terminal pngcairo size 800,500 noenhanced font 'DejaVu Sans,12' background rgb 'white'
        set title font ',15'
        set output png_out
    }
    plot \
        data index 0 using 1:2 with lines lt 1 title 'fp32, finetune.rules=AdaMix', \
        data index 1 using 1:2 with lines lt 2 title 'fp32, finetune.rules=AdaGrad'
    unset output
}
