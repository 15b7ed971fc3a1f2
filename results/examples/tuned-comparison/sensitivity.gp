# The tuning's sensitivity: validation_error at the last epoch against the tuned value, one line per member (study 1); gnuplot sensitivity.gp redraws it.
if (!exists("svg_out")) svg_out = 'sensitivity.svg'
if (!exists("png_out")) png_out = 'sensitivity.png'
set logscale x
set xlabel 'tuned value (log scale)'
set ylabel 'validation error'
set key outside right
set datafile missing 'nan'
set title 'Tuning: validation error by tuned value'
do for [out = 1:2] {
    if (out == 1) { set terminal svg size 900,500; set output svg_out }
    if (out == 2) { set terminal pngcairo size 900,500; set output png_out }
    plot 'sensitivity.dat' index 0 using 1:2 with linespoints title 'AdaMix', 'sensitivity.dat' index 1 using 1:2 with linespoints title 'AdaGrad', 'sensitivity.dat' index 2 using 1:2 with linespoints title 'constant', 'sensitivity.dat' index 3 using 1:2 with points pt 7 ps 2 lc 'black' title 'chosen', 'sensitivity.dat' index 4 using 1:2 with points pt 6 ps 2.5 lc 'red' title 'grid extension'
    unset output
}
