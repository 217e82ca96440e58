import './styles/global.css';
import './styles/control-form.css';
import { mount } from 'svelte';
import { display } from './lib/picture/display.svelte';
import App from './App.svelte';
import { pickTransport } from './lib/pick-transport';
import { Inspector } from './lib/store/inspector.svelte';

// The theme before the first paint, so the page never flashes in the other one.
display.apply();

const target = document.getElementById('app');
if (!target) throw new Error('renderer/index.html has no #app element');

mount(App, { target, props: { inspector: new Inspector(pickTransport()) } });
