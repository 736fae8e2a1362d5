"""A minimal OTLP/gRPC trace collector for bench/bench.py --trace: accepts every
export and counts spans, so the exporter does its whole job without a real collector.

    python3 otlp_sink.py PORT COUNT_FILE   (needs grpcio and opentelemetry-proto)

COUNT_FILE holds the number of spans received so far.
"""
import sys
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Sink(trace_service_pb2_grpc.TraceServiceServicer):
    spans = 0

    def Export(self, request, context):
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                Sink.spans += len(scope.spans)
        with open(sys.argv[2], "w") as out:
            out.write(f"{Sink.spans}\n")
        return trace_service_pb2.ExportTraceServiceResponse()


server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Sink(), server)
server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
server.start()
server.wait_for_termination()
