// Pins the Kubernetes Gateway API release whose CRDs the operator tests install beside BMN's (fetch.sh).
module bmn/test/tools/gateway-api

go 1.22

require sigs.k8s.io/gateway-api v1.6.3
