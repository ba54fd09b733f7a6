# gnuplot -e "dir='out'" bench/plot_compare.gp  ->  out/compare.png
# Log-log time against L for every operator, mixer core and full layer side by side.
if (!exists("dir")) dir = 'out'
set terminal pngcairo size 1400,600 font ",11"
set output dir.'/compare.png'
set multiplot layout 1,2 title "Hyena vs attention (d_model 768, batch 1, float32)" noenhanced
set logscale xy 2
# Powers of two in binary kilo (1k = 1024): gnuplot's %c prefix is decimal
# and would label 32768 and 65536 as 33k and 66k.
set xtics ("256" 256, "512" 512, "1k" 1024, "2k" 2048, "4k" 4096, "8k" 8192, "16k" 16384, "32k" 32768, "64k" 65536)
set xrange [200:84000]  # room for the 256 and 64k tics
set xlabel "sequence length L"
set ylabel "time per call (ms)"
set key top left
set grid
set datafile missing "NaN"
do for [level in "core layer"] {
  set title "mixer ".level
  file = dir.'/compare_'.level.'_d768.dat'
  plot file using 1:2 with linespoints lw 2 title "hyena", \
       file using 1:3 with linespoints title "tiled (flash)", \
       file using 1:4 with linespoints title "softmax", \
       file using 1:5 with linespoints title "linear", \
       file using 1:6 with linespoints title "local (w=512)"
}
unset multiplot
