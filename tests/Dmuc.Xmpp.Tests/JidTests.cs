using System.Text.Json;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Xmpp.Tests;

public class JidTests
{
    [Theory]
    [InlineData("user@example.org/res", "user", "example.org", "res")]
    [InlineData("example.org", null, "example.org", null)]
    [InlineData("example.org/res", null, "example.org", "res")]
    [InlineData("a@b/c/d", "a", "b", "c/d")]
    [InlineData("a@b/c@d", "a", "b", "c@d")]
    [InlineData("room@muc.example.org/my nick", "room", "muc.example.org", "my nick")]
    public void Parses_parts(string text, string? local, string domain, string? resource)
    {
        var jid = Jid.Parse(text);
        Assert.Equal(local, jid.Local);
        Assert.Equal(domain, jid.Domain);
        Assert.Equal(resource, jid.Resource);
    }

    [Fact]
    public void Localpart_and_domain_are_case_folded_resource_keeps_case()
    {
        var jid = Jid.Parse("Romeo@Example.NET/Orchard");
        Assert.Equal("romeo@example.net/Orchard", jid.ToString());
        Assert.Equal(Jid.Parse("ROMEO@example.net/Orchard"), jid);
        Assert.NotEqual(Jid.Parse("romeo@example.net/orchard"), jid);
    }

    [Fact]
    public void Trailing_dot_of_domain_is_stripped() =>
        Assert.Equal("example.org", Jid.Parse("user@example.org.").Domain);

    [Theory]
    [InlineData("")]
    [InlineData("@example.org")]
    [InlineData("user@")]
    [InlineData("user@example.org/")]
    [InlineData("/resource")]
    [InlineData("user@/resource")]
    [InlineData(".")]
    public void Empty_parts_are_rejected(string text) => Assert.False(Jid.TryParse(text, out _));

    [Theory]
    [InlineData("a\"b@example.org")]
    [InlineData("a&b@example.org")]
    [InlineData("a'b@example.org")]
    [InlineData("a:b@example.org")]
    [InlineData("a<b@example.org")]
    [InlineData("a>b@example.org")]
    [InlineData("a b@example.org")]
    [InlineData("a\u0001b@example.org")]
    [InlineData("a@b@example.org")]
    public void Forbidden_localpart_characters_are_rejected(string text) => Assert.False(Jid.TryParse(text, out _));

    [Theory]
    [InlineData("localpart")]
    [InlineData("domain")]
    [InlineData("resource")]
    public void Parts_are_limited_to_1023_bytes(string part)
    {
        // "€" is three bytes in UTF-8: 341 of them are exactly 1023 bytes.
        var longest = new string('€', 341);
        var tooLong = longest + "a";
        Assert.True(Jid.TryParse(WithPart(part, longest), out _));
        Assert.False(Jid.TryParse(WithPart(part, tooLong), out _));
        Assert.True(Jid.TryParse(WithPart(part, new string('a', 1023)), out _));
        Assert.False(Jid.TryParse(WithPart(part, new string('a', 1024)), out _));
    }

    private static string WithPart(string part, string value) => part switch
    {
        "localpart" => $"{value}@example.org/r",
        "domain" => $"user@{value}/r",
        _ => $"user@example.org/{value}",
    };

    [Fact]
    public void Bare_and_with_resource()
    {
        var full = Jid.Parse("room@muc.example.org/nick");
        Assert.Equal(Jid.Parse("room@muc.example.org"), full.Bare);
        Assert.True(full.Bare.IsBare);
        Assert.True(full.IsFull);
        Assert.Equal(full, full.Bare.WithResource("nick"));
        Assert.True(Jid.Parse("muc.example.org").IsDomain);
        Assert.Throws<JidMalformedException>(() => full.WithResource(""));
    }

    [Fact]
    public void The_domain_address_of_any_address_is_its_domain_alone()
    {
        Assert.Equal(Jid.Parse("MUC.example.org"), Jid.Parse("room@muc.example.org/nick").DomainJid);
        Assert.Equal(Jid.Parse("muc.example.org"), Jid.Parse("room@muc.example.org").DomainJid);
        Assert.Equal(Jid.Parse("muc.example.org"), Jid.Parse("muc.example.org/res").DomainJid);
        Assert.True(Jid.Parse("room@muc.example.org/nick").DomainJid.IsDomain);
    }

    [Fact]
    public void Round_trips_through_json()
    {
        var jid = Jid.Parse("room@muc.example.org/Nick");
        var json = JsonSerializer.Serialize(jid);
        Assert.Equal("\"room@muc.example.org/Nick\"", json);
        Assert.Equal(jid, JsonSerializer.Deserialize<Jid>(json));
    }
    [Fact]
    public void Parsing_an_address_allocates_its_parts_and_its_text_only()
    {
        const string text = "juliet@capulet.example/balcony";
        Jid.Parse(text);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var jid = Jid.Parse(text);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(text, jid.ToString());
        // Several addresses are parsed per stanza (the room, its sender, once more to plan the sends). The three parts, the
        // text and the instance are 288 bytes here; checking each character through LINQ and joining the parts with a
        // StringBuilder made it 552 (2026-12-06).
        Assert.InRange(allocated, 0, 400);
    }
}
