using System.Text;
using System.Xml.Linq;
using BenchmarkDotNet.Attributes;
using Dmuc.Xmpp;

namespace Dmuc.Benchmarks;

/// <summary>Parse cost per stanza: each invocation feeds a batch of identical stanzas to a live parser.</summary>
[MemoryDiagnoser]
public class ParserBenchmarks
{
    private const int Batch = 100;

    private XmppStreamParser _parser = null!;
    private byte[] _messages = null!;
    private byte[] _presences = null!;

    [GlobalSetup]
    public void Setup()
    {
        _parser = new XmppStreamParser(new DiscardingHandler());
        _parser.Feed(Encoding.UTF8.GetBytes(Stanzas.StreamHeader));
        _messages = Stanzas.Repeated(Stanzas.GroupchatMessage, Batch);
        _presences = Stanzas.Repeated(Stanzas.Presence, Batch);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void GroupchatMessage() => _parser.Feed(_messages);

    [Benchmark(OperationsPerInvoke = Batch)]
    public void Presence() => _parser.Feed(_presences);

    private sealed class DiscardingHandler : IXmppStreamHandler
    {
        public void OnStreamHeader(StreamHeader header) { }
        public void OnElement(XElement element) { }
        public void OnRefused(RefusedStanza refused) { }
        public void OnStreamEnd() { }
    }
}
