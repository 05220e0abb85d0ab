using System.Buffers;
using System.Xml.Linq;
using BenchmarkDotNet.Attributes;
using Dmuc.Xmpp;

namespace Dmuc.Benchmarks;

/// <summary>Rendering a reflected groupchat message, and fanning it out to N occupants.</summary>
[MemoryDiagnoser]
public class WriterBenchmarks
{
    private const int Recipients = 1000;

    private readonly ArrayBufferWriter<byte> _output = new(1024 * 1024);
    private readonly string[] _recipients =
        Enumerable.Range(0, Recipients).Select(i => $"occupant{i}@example.org/resource-{i}").ToArray();
    private XElement _message = null!;
    private RenderedStanza _rendered = null!;

    [GlobalSetup]
    public void Setup()
    {
        _message = Stanzas.ReflectedMessage();
        _rendered = RenderedStanza.Render(_message);
    }

    [Benchmark]
    public void WriteStanza()
    {
        _output.ResetWrittenCount();
        StanzaWriter.Write(_message, _output);
    }

    [Benchmark]
    public RenderedStanza RenderOnce() => RenderedStanza.Render(_message);

    /// <summary>The per-recipient cost of a broadcast once the stanza is rendered.</summary>
    [Benchmark(OperationsPerInvoke = Recipients)]
    public void SplicePerRecipient()
    {
        _output.ResetWrittenCount();
        foreach (var to in _recipients) _rendered.WriteTo(_output, to);
    }

    /// <summary>A whole broadcast: one render and a splice per occupant.</summary>
    [Benchmark]
    public void Broadcast1000()
    {
        _output.ResetWrittenCount();
        var rendered = RenderedStanza.Render(_message);
        foreach (var to in _recipients) rendered.WriteTo(_output, to);
    }
}
