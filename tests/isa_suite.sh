#!/bin/sh
# Runs the op-gradient, convolution, module and PyTorch-parity suites with oneDNN capped at one
# instruction set (ONEDNN_MAX_CPU_ISA), so that one machine tests the kernels oneDNN dispatches
# to on older CPUs as well as its own. Exits 77 (ctest: skipped) when the CPU lacks that ISA.
#   isa_suite.sh ISA TEST_BINARY
isa=$1 bin=$2
flag=$(echo "$isa" | tr 'A-Z' 'a-z')
case $isa in
  SSE41) flag=sse4_1 ;;
  AVX512_CORE) flag=avx512bw ;;
esac
if ! grep -qw "$flag" /proc/cpuinfo; then
  echo "skipped: this CPU has no $flag, so ONEDNN_MAX_CPU_ISA=$isa would test its default again"
  exit 77
fi
ONEDNN_MAX_CPU_ISA=$isa exec "$bin" \
  --gtest_filter='OpGrad.*:Geometries/ConvGrad.*:ConvGeometries.*:ConvGeometriesWinograd.*:ConvGeometriesWinograd4.*:Modules.*:TorchParity.*:Optim.*'
