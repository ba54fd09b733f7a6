# gnuplot -e "dir='out'" bench/plot_decode.gp  ->  out/decode.png
# Per-token time of the mixer's long convolution against the context length:
# the streaming decoder, the naive incremental form, recomputing the prefix.
if (!exists("dir")) dir = 'out'
set terminal pngcairo size 900,600 font ",11"
set output dir.'/decode.png'
set title "Decoding one token: mixer of 256 channels, float32 (bench_decode)" noenhanced
set logscale x 2
set logscale y 10
# Binary kilo and mega (1k = 1024): gnuplot's %c prefix is decimal and
# would label 32768 as 33k.
set xtics ("64" 64, "256" 256, "1k" 1024, "4k" 4096, "16k" 16384, "64k" 65536, "256k" 262144, "1M" 1048576)
set format y "%g"
set xlabel "context length L (tokens)"
set ylabel "time per token (us)"
set key top left
set grid
file = dir.'/decode_mixer.dat'
plot file using 1:2 with linespoints lw 2 title "streaming decoder (amortised)", \
     file using 1:3 with linespoints title "naive incremental (history dot product)", \
     file using 1:4 with linespoints title "recompute the prefix (FFT)"
