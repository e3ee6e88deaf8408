# bench/run.sh's chart: throughput (MB/s, median run, log scale) per workload per tool.
# gnuplot -e "datafile='chart.dat'; outfile='throughput.png'; subtitle='...'" bench/throughput.gp
set terminal pngcairo size 900,520 font "DejaVu Sans,11"
set output outfile
set title "Throughput per workload (MB/s, median; higher is better)\n".subtitle noenhanced
fmt(x) = x >= 10 ? sprintf("%.0f", x) : sprintf("%.1f", x)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.1:20000]
set ylabel "MB/s (10^6 bytes per second, log scale)"
set grid ytics
set key top center horizontal
set xtics font ",9"
plot datafile using 2:xtic(1) title "BgFetchCluster" linecolor rgb "#1f77b4", \
     '' using 3 title "aria2c -j 16" linecolor rgb "#ff7f0e", \
     '' using 4 title "curl --parallel 16" linecolor rgb "#2ca02c", \
     '' using ($0-0.25):2:(fmt($2)) with labels offset 0,0.7 font ",9" notitle, \
     '' using 0:3:(fmt($3)) with labels offset 0,0.7 font ",9" notitle, \
     '' using ($0+0.25):4:(fmt($4)) with labels offset 0,0.7 font ",9" notitle
